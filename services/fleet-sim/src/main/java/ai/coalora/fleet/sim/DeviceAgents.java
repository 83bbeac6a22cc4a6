package ai.coalora.fleet.sim;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.io.FileTrees;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.messaging.Failures;
import ai.coalora.fleet.security.ManifestRefused;
import ai.coalora.fleet.security.PackageManifest;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Simulated devices doing what real ones do, through the device gateway only and each with its own token: wait for
 * their package (a long poll per device), check the signed package manifest against
 * the root key pinned at enrolment (unsigned, foreign, expired, another device's, or not newer than the last applied:
 * refused and reported, nothing downloaded), download every file of the package from its URL, verify size and sha256 (a tampered or truncated file is rejected and reported, never
 * applied), run exactly those files on the runtime the package is for, on the device's own held-out shard of the
 * task's test split, and publish a device-status event and evaluation telemetry (quality in the version's measure,
 * latency, memory, version and package). A packed package runs on the Java runtime ({@link JavaRuntimePackage}:
 * accuracy); a GGUF package on real llama.cpp ({@link LlamaCppPackage}: perplexity, a sample, tokens/s), started with
 * the first such package; where llama.cpp is not installed, that package fails with the reason. Files are checked once
 * when first fetched (the simulator's content-addressed cache); a device whose copy was corrupted checks it.
 *
 * <p>Every device is evaluated (no sampling). Devices with the same package share one loaded package in this
 * process (the bytes are identical); each still evaluates its own shard. Fault injection, drawn per device
 * from a seed: offline (never answers), slow (answers seconds late), crash mid-update (stops once after
 * downloading; reboots and re-applies its latest package), corrupted download (one flipped byte once: the
 * device rejects the package and reports it).
 */
public final class DeviceAgents implements AutoCloseable {
    /** Shares of devices with each fault. */
    public record Faults(double offline, double slow, double crash, double corrupt) {
        public static final Faults NONE = new Faults(0, 0, 0, 0);
    }

    /** What was injected and what happened, for the caller's report. */
    public record Report(
            int devices,
            int offline,
            int slow,
            int crashed,
            int corrupted,
            int applied,
            int rejected,
            int failed,
            int modelsLoaded) {}

    static final long SLOW_MS = 3000, REBOOT_MS = 2000;
    /** How long a package request is held open by the gateway. */
    static final Duration POLL_WAIT = Duration.ofSeconds(25);
    /** A report the gateway could not take (it was down) is sent again this often, for up to this many tries. */
    static final long RETRY_MS = 1000;

    static final int RETRIES = 180;

    private final Map<String, Example[]> shards = new HashMap<>();
    private final Set<String> offline = ConcurrentHashMap.newKeySet(), slow = ConcurrentHashMap.newKeySet();
    private final Set<String> crashOnce = ConcurrentHashMap.newKeySet(), corruptOnce = ConcurrentHashMap.newKeySet();
    private final Map<String, AdapterReady> latest = new ConcurrentHashMap<>();
    private final Map<String, DeviceStatus> lastStatus = new ConcurrentHashMap<>(); // what each device last reported
    private final Map<String, RunningPackage> packages =
            new ConcurrentHashMap<>(); // by package: shared by devices that run the same
    private final Map<String, String> samples = new ConcurrentHashMap<>(); // each llama.cpp device's last generation
    private final Map<String, byte[]> verifiedBlobs = new ConcurrentHashMap<>();
    private final PublicKey root;
    /** Per device, the manifest it applied last: a newer one must carry a higher sequence number. */
    private final Map<String, PackageManifest.Signed> appliedManifest = new ConcurrentHashMap<>();

    private final AtomicInteger manifestsRefused = new AtomicInteger();
    private PretrainedModel tokenizerSource; // the Java runtime's tokenizer, loaded with its first package
    private LlamaCpp llama; // started with the first GGUF package
    private final Path storage; // what llama.cpp devices keep on disk, one folder per package
    private final NDManager manager = NDManager.newBaseManager();
    private final GatewayClient gateway;
    private final Map<String, String> tokens;
    private final ExecutorService workers = Executors.newFixedThreadPool(2);
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger reportsRefused = new AtomicInteger();
    private final AtomicInteger applied = new AtomicInteger(),
            rejected = new AtomicInteger(),
            failed = new AtomicInteger();
    private final AtomicInteger artifactsRejected = new AtomicInteger();
    private volatile URI
            downloadVia; // a mirror the devices download through instead of the registry (null: the registry)
    private final int crashedCount, corruptedCount;
    private volatile boolean running = true;

    /**
     * @param gateway   the device gateway (the registry's device API)
     * @param root      the fleet's root public key, pinned by every device at enrolment
     * @param tokens    each device's own gateway token, issued at enrolment
     * @param deviceIds the devices this process simulates
     * @param examples  each device's held-out shard size, drawn from the task's test split
     */
    public DeviceAgents(
            GatewayClient gateway,
            PublicKey root,
            Map<String, String> tokens,
            List<String> deviceIds,
            List<Example> testSplit,
            int examples,
            Faults faults,
            long seed)
            throws IOException {
        this.gateway = gateway;
        this.tokens = Map.copyOf(tokens);
        for (String d : deviceIds)
            if (!tokens.containsKey(d)) throw new IllegalArgumentException("device " + d + " has no gateway token");
        this.root = root;
        Random rnd = new Random(seed);
        for (int i = 0; i < deviceIds.size(); i++) {
            String d = deviceIds.get(i);
            Example[] shard = new Example[examples];
            int start = rnd.nextInt(testSplit.size());
            for (int k = 0; k < examples; k++) shard[k] = testSplit.get((start + k) % testSplit.size());
            shards.put(d, shard);
            double f = rnd.nextDouble();
            if (f < faults.offline()) offline.add(d);
            else if (f < faults.offline() + faults.slow()) slow.add(d);
            else if (f < faults.offline() + faults.slow() + faults.crash()) crashOnce.add(d);
            else if (f < faults.offline() + faults.slow() + faults.crash() + faults.corrupt()) corruptOnce.add(d);
        }
        crashedCount = crashOnce.size();
        corruptedCount = corruptOnce.size();
        storage = Files.createTempDirectory("coalora-devices-");
        for (String d : deviceIds) if (!offline.contains(d)) poll(d, null); // an offline device never asks
    }

    public Set<String> offlineDevices() {
        return Set.copyOf(offline);
    }

    /** Downloads go to this mirror (scheme, host and port replaced; path and query kept) instead of the URLs' own host. */
    public void downloadVia(URI mirror) {
        this.downloadVia = mirror;
    }

    /** Devices drop the files they hold (storage reclaimed): the next package is downloaded again, file by file. */
    public void forgetDownloads() {
        verifiedBlobs.clear();
    }

    /** The manifest of the package {@code device} applied last (null before its first). */
    public PackageManifest.Signed appliedManifest(String device) {
        return appliedManifest.get(device);
    }

    /** Packages refused for their manifest (unsigned, forged, expired, another device's, replayed). */
    public int manifestsRefused() {
        return manifestsRefused.get();
    }

    /** Downloaded files whose size or sha256 did not match their artifact (each rejected, never applied). */
    public int artifactsRejected() {
        return artifactsRejected.get();
    }

    public Report report() {
        return new Report(
                shards.size(),
                offline.size(),
                slow.size(),
                crashedCount,
                corruptedCount,
                applied.get(),
                rejected.get(),
                failed.get(),
                packages.size());
    }

    /** Reports the gateway refused (4xx): none is expected of a device that speaks for itself. */
    public int reportsRefused() {
        return reportsRefused.get();
    }

    /** One device waits for its next package (the gateway holds the request until it changes), then again. */
    private void poll(String device, String etag) {
        if (!running) return;
        gateway.nextPackage(tokens.get(device), etag, POLL_WAIT).whenComplete((p, error) -> {
            if (!running) return;
            if (error != null) { // the gateway is down or restarting, or refused the device: ask again in a moment
                if (error.getCause() instanceof Failures.Refused) reportsRefused.incrementAndGet();
                timers.schedule(() -> poll(device, etag), RETRY_MS, TimeUnit.MILLISECONDS);
                return;
            }
            Optional<GatewayClient.Package> next = p;
            next.ifPresent(pkg -> {
                AdapterReady ready = pkg.ready();
                latest.put(device, ready);
                long delay = slow.contains(device) ? SLOW_MS : 0;
                timers.schedule(() -> workers.submit(() -> update(ready)), delay, TimeUnit.MILLISECONDS);
            });
            poll(device, next.map(GatewayClient.Package::etag).orElse(etag));
        });
    }

    /** One device applies one package. */
    private void update(AdapterReady ready) {
        String device = ready.deviceId();
        if (!ready.equals(latest.get(device))) return; // superseded while waiting: apply only the newest
        PackageManifest.Signed last = appliedManifest.get(device);
        if (last != null && last.equals(ready.manifest())) return; // delivered again: applied already
        PackageManifest manifest;
        try {
            manifest = PackageManifest.verify(
                    ready.manifest(),
                    root,
                    device,
                    last == null ? 0 : last.manifest().sequence(),
                    Instant.now());
            manifest.checkFiles(ready.artifacts().stream()
                    .map(a -> new PackageManifest.File(a.role(), a.name(), a.sha256(), a.bytes()))
                    .toList());
        } catch (ManifestRefused e) {
            manifestsRefused.incrementAndGet();
            rejected.incrementAndGet();
            status(ready, DeviceStatus.REJECTED, "package manifest refused: " + e.getMessage());
            return;
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            for (Artifact a : ready.artifacts()) {
                byte[] bytes = download(device, a); // checked when fetched
                if (corruptOnce.remove(device)) {
                    bytes = bytes.clone();
                    bytes[bytes.length / 2] ^= 0x5A; // what a flaky link or a tampering mirror does
                    ArtifactVerifier.check(a, bytes); // this device's copy differs from what was checked: check it
                }
                files.put(a.name(), bytes);
            }
        } catch (IOException e) {
            rejected.incrementAndGet();
            status(ready, DeviceStatus.REJECTED, e.getMessage());
            return;
        }
        if (crashOnce.remove(device)) {
            // power lost mid-update: nothing reported; after the reboot the device re-applies its latest package
            timers.schedule(() -> workers.submit(() -> update(latest.get(device))), REBOOT_MS, TimeUnit.MILLISECONDS);
            return;
        }
        try {
            RunningPackage running = packages.computeIfAbsent(ready.packageSha256(), k -> load(ready, files));
            RunningPackage.Measurement m = running.measure(device, List.of(shards.get(device)), false);
            appliedManifest.put(device, ready.manifest()); // its sequence is now the floor for the next one
            if (m.sample() != null) samples.put(device, m.sample());
            status(
                    ready,
                    DeviceStatus.APPLIED,
                    "verified the signed manifest (sequence " + manifest.sequence() + ") and " + files.size()
                            + " files; " + m.summary());
            EvaluationTelemetry t = telemetry(ready, m);
            send(device, () -> {
                gateway.telemetry(tokens.get(device), t);
                return null;
            });
            applied.incrementAndGet();
        } catch (RuntimeException ex) {
            failed.incrementAndGet();
            status(ready, DeviceStatus.FAILED, "could not run the package: " + ex.getMessage());
        }
    }

    /** A package's files on the runtime it is for. */
    private RunningPackage load(AdapterReady ready, Map<String, byte[]> files) {
        try {
            if (!LlamaCppPackage.isGguf(ready.artifacts())) {
                synchronized (this) {
                    if (tokenizerSource == null)
                        tokenizerSource = PretrainedModel.miniLm(JavaRuntimePackage.MAX_LENGTH);
                }
                return new JavaRuntimePackage(files, tokenizerSource, manager);
            }
            synchronized (this) {
                if (llama == null) llama = LlamaCpp.start(0);
            }
            return new LlamaCppPackage(llama, ready.packageSha256(), ready.artifacts(), files, storage);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The sample the llama.cpp device generated last (its prompt and continuation), or null. */
    public String sample(String device) {
        return samples.get(device);
    }

    /**
     * Devices measure again on what they run now; with {@code drift} the data they see has shifted (a classifier's
     * labels flipped, a language model's word order reversed), so the model under-performs: what telemetry-driven
     * retraining is for. Returns how many devices measured.
     */
    public int reevaluate(Collection<String> deviceIds, boolean drift) {
        int n = 0;
        for (String device : deviceIds) {
            AdapterReady ready = latest.get(device);
            RunningPackage running = ready == null ? null : packages.get(ready.packageSha256());
            if (running == null || offline.contains(device)) continue;
            EvaluationTelemetry t = telemetry(ready, running.measure(device, List.of(shards.get(device)), drift));
            try {
                gateway.telemetry(tokens.get(device), t); // accepted: published by the gateway's outbox
            } catch (IOException ex) {
                throw new IllegalStateException("device " + device + " could not report: " + ex.getMessage(), ex);
            }
            n++;
        }
        return n;
    }

    /** What a device reports after measuring the package of {@code ready} on its shard. */
    private static EvaluationTelemetry telemetry(AdapterReady ready, RunningPackage.Measurement m) {
        return new EvaluationTelemetry(
                ready.deviceId(),
                ready.modelVersion(),
                ready.configId(),
                ready.packageSha256(),
                m.measure(),
                m.value(),
                m.examples(),
                m.msPerExample(),
                m.memoryBytes(),
                Instant.now(),
                m.tokensPerSecond());
    }

    private byte[] download(String device, Artifact a) throws IOException {
        byte[] cached = verifiedBlobs.get(a.sha256());
        if (cached != null) return cached;
        URI url = URI.create(a.url()), via = downloadVia;
        if (via != null)
            url = via.resolve(url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()));
        byte[] body = gateway.download(tokens.get(device), url.toString());
        try {
            ArtifactVerifier.check(a, body);
        } catch (IOException bad) {
            artifactsRejected.incrementAndGet();
            throw bad;
        }
        verifiedBlobs.put(a.sha256(), body);
        return body;
    }

    private void status(AdapterReady ready, String status, String reason) {
        DeviceStatus s = new DeviceStatus(
                ready.deviceId(),
                ready.assignmentId(),
                ready.modelVersion(),
                ready.configId(),
                ready.packageSha256(),
                status,
                reason,
                Instant.now());
        lastStatus.put(ready.deviceId(), s);
        send(s);
    }

    private void send(DeviceStatus s) {
        send(s.deviceId(), () -> {
            gateway.status(tokens.get(s.deviceId()), s);
            return null;
        });
    }

    /**
     * Devices send their last status report again, as a device does after reconnecting: the same report, its time
     * when it happened, so a consumer that knows newer news of the device leaves it be. Returns how many were sent.
     */
    public int reportAgain(Collection<String> deviceIds) {
        int n = 0;
        for (String device : deviceIds) {
            DeviceStatus s = lastStatus.get(device);
            if (s == null) continue;
            send(s);
            n++;
        }
        return n;
    }

    /**
     * Sends a report as a device does: at once, and again while the gateway is unreachable (a restart);
     * a refusal (4xx) is final and counted.
     */
    private void send(String device, Callable<Void> report) {
        try {
            report.call();
        } catch (Failures.Refused refused) {
            reportsRefused.incrementAndGet();
        } catch (Exception down) {
            retry(device, report, 1);
        }
    }

    private void retry(String device, Callable<Void> report, int attempt) {
        if (!running || attempt > RETRIES) return;
        timers.schedule(
                () -> workers.submit(() -> {
                    try {
                        report.call();
                    } catch (Failures.Refused refused) {
                        reportsRefused.incrementAndGet();
                    } catch (Exception down) {
                        retry(device, report, attempt + 1);
                    }
                }),
                RETRY_MS,
                TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        running = false;
        timers.shutdownNow();
        workers.shutdownNow();
        try {
            workers.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        packages.values().forEach(RunningPackage::close);
        if (llama != null) llama.close();
        manager.close();
        if (tokenizerSource != null) tokenizerSource.close();
        try {
            FileTrees.delete(storage);
        } catch (IOException e) {
            // a temporary folder: the system reclaims it
        }
    }
}
