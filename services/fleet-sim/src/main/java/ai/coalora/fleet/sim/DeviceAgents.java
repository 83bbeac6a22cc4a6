package ai.coalora.fleet.sim;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.device.DeviceModel;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import ai.coalora.fleet.schema.EventSchemas;
import ai.coalora.fleet.security.ManifestRefused;
import ai.coalora.fleet.security.PackageManifest;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Simulated devices doing what real ones do with an adapter-ready event: check the signed package manifest against
 * the root key pinned at enrolment (unsigned, foreign, expired, another device's, or not newer than the last applied:
 * refused and reported, nothing downloaded), download every file of the package from its URL, verify size and sha256 (a tampered or truncated file is rejected and reported, never
 * applied), build the quantized model with the adapter from exactly those files ({@link DeviceModel}), run it
 * on the device's own held-out shard of the task's test split, and publish a device-status event and
 * evaluation telemetry (accuracy, latency per example, memory, version and package). Files are checked once
 * when first fetched (the simulator's content-addressed cache); a device whose copy was corrupted checks it.
 *
 * <p>Every device is evaluated (no sampling). Devices with the same package share one loaded model in this
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

    static final String SOURCE = "/coalora/device-agent";
    static final int MAX_LENGTH = 40;
    static final long SLOW_MS = 3000, REBOOT_MS = 2000;

    private final Map<String, Example[]> shards = new HashMap<>();
    private final Set<String> offline = ConcurrentHashMap.newKeySet(), slow = ConcurrentHashMap.newKeySet();
    private final Set<String> crashOnce = ConcurrentHashMap.newKeySet(), corruptOnce = ConcurrentHashMap.newKeySet();
    private final Map<String, AdapterReady> latest = new ConcurrentHashMap<>();
    private final Map<String, DeviceModel> models =
            new ConcurrentHashMap<>(); // by package: shared by devices that run the same
    private final Map<String, byte[]> verifiedBlobs = new ConcurrentHashMap<>();
    private final PublicKey root;
    /** Per device, the manifest it applied last: a newer one must carry a higher sequence number. */
    private final Map<String, PackageManifest.Signed> appliedManifest = new ConcurrentHashMap<>();

    private final AtomicInteger manifestsRefused = new AtomicInteger();
    private final PretrainedModel tokenizerSource;
    private final NDManager manager = NDManager.newBaseManager();
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final ExecutorService workers = Executors.newFixedThreadPool(2);
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final Thread loop;
    private final AtomicInteger applied = new AtomicInteger(),
            rejected = new AtomicInteger(),
            failed = new AtomicInteger();
    private final AtomicInteger artifactsRejected = new AtomicInteger();
    private volatile URI
            downloadVia; // a mirror the devices download through instead of the registry (null: the registry)
    private final int crashedCount, corruptedCount;
    private volatile boolean running = true;
    private final ai.coalora.fleet.security.Credentials credentials;

    /**
     * @param kafka       where the devices' events go and adapter-ready events come from (until devices talk only to
     *                    the registry, a principal that may write the devices' topics and read adapters in a group of
     *                    its own: the admin)
     * @param root        the fleet's root public key, pinned by every device at enrolment
     * @param credentials the account the devices download with (role viewer)
     * @param deviceIds the devices this process simulates
     * @param examples  each device's held-out shard size, drawn from the task's test split
     */
    public DeviceAgents(
            KafkaConnection kafka,
            PublicKey root,
            ai.coalora.fleet.security.Credentials credentials,
            List<String> deviceIds,
            List<Example> testSplit,
            int examples,
            Faults faults,
            long seed)
            throws IOException {
        this.credentials = credentials;
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
        tokenizerSource = PretrainedModel.miniLm(MAX_LENGTH);
        producer = new KafkaProducer<>(KafkaSettings.producer(kafka, "device-agents"));
        consumer = new KafkaConsumer<>(
                KafkaSettings.consumer(kafka, "device-agents-" + UUID.randomUUID(), "device-agents"));
        consumer.subscribe(List.of(Topic.ADAPTERS_READY.name()));
        loop = new Thread(this::run, "device-agents");
        loop.setDaemon(true);
        loop.start();
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
                models.size());
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    AdapterReady ready =
                            Payloads.read(KafkaCloudEvents.decode(r).data(), AdapterReady.class);
                    if (!shards.containsKey(ready.deviceId()) || offline.contains(ready.deviceId())) continue;
                    latest.put(ready.deviceId(), ready);
                    long delay = slow.contains(ready.deviceId()) ? SLOW_MS : 0;
                    timers.schedule(() -> workers.submit(() -> update(ready)), delay, TimeUnit.MILLISECONDS);
                }
            }
        } catch (WakeupException closing) {
            // closed
        } catch (Exception e) {
            throw new IllegalStateException("device agents: " + e, e);
        } finally {
            consumer.close();
        }
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
                byte[] bytes = download(a); // checked when fetched
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
            DeviceModel model = models.computeIfAbsent(ready.packageSha256(), k -> DeviceModel.load(files, manager));
            DeviceModel.Evaluation e;
            synchronized (model) { // one evaluation per loaded model at a time (its native buffers are shared)
                e = model.evaluate(tokenizerSource.tokenizer(), List.of(shards.get(device)), MAX_LENGTH);
            }
            appliedManifest.put(device, ready.manifest()); // its sequence is now the floor for the next one
            status(
                    ready,
                    DeviceStatus.APPLIED,
                    "verified the signed manifest (sequence " + manifest.sequence() + ") and " + files.size()
                            + " files; evaluated " + e.examples() + " examples");
            EvaluationTelemetry t = new EvaluationTelemetry(
                    device,
                    ready.modelVersion(),
                    ready.configId(),
                    ready.packageSha256(),
                    e.accuracy(),
                    e.examples(),
                    e.msPerExample(),
                    model.memoryBytes(),
                    Instant.now());
            publish(Topic.TELEMETRY, device, EventTypes.TELEMETRY, Payloads.toJson(t));
            applied.incrementAndGet();
        } catch (RuntimeException ex) {
            failed.incrementAndGet();
            status(ready, DeviceStatus.FAILED, "could not run the package: " + ex.getMessage());
        }
    }

    /**
     * Devices measure again on what they run now; with {@code drift} their shard's labels are flipped, the
     * way a shift in the data a device sees makes the model under-perform (what telemetry-driven retraining
     * is for). Returns how many devices measured.
     */
    public int reevaluate(Collection<String> deviceIds, boolean drift) {
        int n = 0;
        for (String device : deviceIds) {
            AdapterReady ready = latest.get(device);
            DeviceModel model = ready == null ? null : models.get(ready.packageSha256());
            if (model == null || offline.contains(device)) continue;
            List<Example> shard = Arrays.stream(shards.get(device))
                    .map(e -> drift ? new Example(e.text(), 1 - e.label()) : e)
                    .toList();
            DeviceModel.Evaluation e;
            synchronized (model) {
                e = model.evaluate(tokenizerSource.tokenizer(), shard, MAX_LENGTH);
            }
            publish(
                    Topic.TELEMETRY,
                    device,
                    EventTypes.TELEMETRY,
                    Payloads.toJson(new EvaluationTelemetry(
                            device,
                            ready.modelVersion(),
                            ready.configId(),
                            ready.packageSha256(),
                            e.accuracy(),
                            e.examples(),
                            e.msPerExample(),
                            model.memoryBytes(),
                            Instant.now())));
            n++;
        }
        producer.flush();
        return n;
    }

    private byte[] download(Artifact a) throws IOException {
        byte[] cached = verifiedBlobs.get(a.sha256());
        if (cached != null) return cached;
        try {
            URI url = URI.create(a.url()), via = downloadVia;
            if (via != null)
                url = via.resolve(url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()));
            HttpResponse<byte[]> r = http.send(
                    HttpRequest.newBuilder(url)
                            .timeout(Duration.ofMinutes(1))
                            .header("Authorization", credentials.authorizationHeader())
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) throw new IOException(a.name() + ": HTTP " + r.statusCode() + " from " + url);
            try {
                ArtifactVerifier.check(a, r.body());
            } catch (IOException bad) {
                artifactsRejected.incrementAndGet();
                throw bad;
            }
            verifiedBlobs.put(a.sha256(), r.body());
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
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
        publish(Topic.DEVICE_STATUS, ready.deviceId(), EventTypes.DEVICE_STATUS, Payloads.toJson(s));
    }

    private void publish(Topic topic, String device, String type, com.fasterxml.jackson.databind.JsonNode data) {
        CloudEvent e = CloudEvent.create(
                SOURCE + "/" + device, type, device, EventSchemas.load().dataschema(type), data);
        producer.send(new ProducerRecord<>(
                topic.name(), null, device, KafkaCloudEvents.value(e), KafkaCloudEvents.headers(e)));
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            loop.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
        workers.shutdownNow();
        try {
            workers.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close();
        models.values().forEach(DeviceModel::close);
        manager.close();
        tokenizerSource.close();
    }
}
