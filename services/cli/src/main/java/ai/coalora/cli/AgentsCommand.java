package ai.coalora.cli;

import ai.coalora.engine.data.Tasks;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.Credentials;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.sim.DeviceAgents;
import ai.coalora.fleet.sim.LlamaCpp;
import ai.coalora.fleet.sim.SimulatedFleet;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Simulated devices and their agents against a running fleet system, through its device gateway only. */
@Command(
        name = "agents",
        mixinStandardHelpOptions = true,
        description =
                "Runs simulated devices against a running fleet system (e.g. started with deploy/): enrols them (each gets its own "
                        + "gateway token; an operator account issues them), then each announces capabilities drawn around the front of the "
                        + "production alias to the device gateway, waits there for its package, verifies and runs it, and reports status and "
                        + "telemetry. For a decoder version the devices run llama.cpp (scripts/install-llama-cpp.sh) and report "
                        + "perplexity. Runs until Ctrl-C (or --until-settled).")
final class AgentsCommand implements Callable<Integer> {
    @Option(names = "--registry", required = true, description = "Registry base URL (e.g. http://127.0.0.1:8080).")
    String registryUrl;

    @Option(
            names = "--gateway",
            description = "The device gateway's HTTPS address (default: the registry URL; the demo prints it).")
    String gatewayUrl;

    @Option(
            names = "--gateway-certificate",
            description = "The gateway's certificate or its CA's (PEM), the only one the devices trust (default: the "
                    + "JVM's trust store).")
    Path gatewayCertificate;

    @Option(names = "--devices", defaultValue = "20", description = "Devices to simulate (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(names = "--prefix", defaultValue = "agent-", description = "Device id prefix (default: ${DEFAULT-VALUE}).")
    String prefix;

    @Option(
            names = "--seed",
            defaultValue = "1",
            description = "Seed of capabilities, shards and faults (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--faults",
            defaultValue = "0,0,0,0",
            split = ",",
            description =
                    "Shares of devices offline, slow, crashing mid-update, with a corrupted download (default: none).")
    List<Double> faults;

    @Option(
            names = "--user",
            defaultValue = "operator",
            description = "Registry account that enrols the devices (role operator; default: ${DEFAULT-VALUE}). "
                    + "Devices already enrolled get new tokens.")
    String user;

    @Option(
            names = "--password-file",
            description = "File holding that account's password (default: the COALORA_PASSWORD environment variable).")
    Path passwordFile;

    @Option(
            names = "--root-key",
            required = true,
            description = "The fleet's root public key (root-key.pub of ./coalora keys init), pinned by the devices: "
                    + "they install only packages whose manifest a key it vouches for signed.")
    Path rootKey;

    @Option(
            names = "--until-settled",
            description = "Exit once every answering device runs its package or reported a failure.")
    boolean untilSettled;

    @Override
    public Integer call() throws Exception {
        if (devices < 1) throw new IllegalArgumentException("--devices must be >= 1");
        if (faults.size() != 4)
            throw new IllegalArgumentException("--faults takes four shares: offline,slow,crash,corrupt");
        String password =
                passwordFile != null ? Files.readString(passwordFile).strip() : System.getenv("COALORA_PASSWORD");
        if (password == null)
            throw new IllegalArgumentException("the registry needs a password: --password-file or COALORA_PASSWORD");
        RegistryClient registry = new RegistryClient(registryUrl, new Credentials(user, password));
        JsonNode alias = registry.getJsonOrNull("api/aliases/production");
        if (alias == null)
            throw new IllegalArgumentException(
                    "the registry has no production alias yet: register and promote a version first");
        JsonNode version =
                registry.getJson("api/versions/" + alias.get("modelVersion").asText());
        List<FrontEntry> front =
                Payloads.JSON.convertValue(version.get("front"), new TypeReference<List<FrontEntry>>() {});
        boolean decoder = "decoder".equals(version.path("kind").asText());
        String missing = decoder ? LlamaCpp.unavailable() : null; // runs node: asked once
        if (missing != null)
            throw new IllegalArgumentException(
                    "production is a decoder version, which these devices run in llama.cpp: " + missing);
        List<DeviceCapabilities> fleet = new ArrayList<>();
        for (DeviceCapabilities d : decoder
                ? SimulatedFleet.llamaCppDevices(devices, front, seed)
                : SimulatedFleet.devices(devices, front, seed)) {
            String id = prefix + d.deviceId().substring(d.deviceId().indexOf('-') + 1);
            fleet.add(new DeviceCapabilities(
                    id,
                    d.memoryBytes(),
                    d.weightBits(),
                    d.runtimeFormats(),
                    d.computeClass(),
                    d.runtimeOverheadBytes(),
                    d.labels(),
                    d.ggufTypes()));
        }
        Map<String, String> tokens =
                registry.enrol(fleet.stream().map(DeviceCapabilities::deviceId).toList(), true);
        GatewayClient gateway = new GatewayClient(
                gatewayUrl != null ? gatewayUrl : registryUrl,
                gatewayCertificate == null ? null : GatewayClient.certificate(gatewayCertificate));
        DeviceAgents agents = new DeviceAgents(
                gateway,
                FleetKeys.readRootPublic(rootKey),
                tokens,
                fleet.stream().map(DeviceCapabilities::deviceId).toList(),
                Tasks.builtin(version.get("task").asText()).test(),
                20,
                new DeviceAgents.Faults(faults.get(0), faults.get(1), faults.get(2), faults.get(3)),
                seed);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            agents.close();
        }));
        SimulatedFleet.announce(gateway, tokens, fleet);
        System.out.printf(
                "%d devices enrolled and announced to %s (front of %s, %d configurations); agents running%n",
                fleet.size(),
                gateway.baseUrl(),
                version.get("modelVersion").asText().substring(0, 16),
                front.size());
        long offline = agents.offlineDevices().size();
        while (!stop.await(5, TimeUnit.SECONDS)) {
            DeviceAgents.Report r = agents.report();
            System.out.printf(
                    "applied %d, rejected %d, failed %d (offline %d)%n",
                    r.applied(), r.rejected(), r.failed(), r.offline());
            long unassignable = 0;
            for (DeviceCapabilities d : fleet) {
                JsonNode dev = registry.getJsonOrNull("api/devices/" + d.deviceId());
                if (dev != null && "unassignable".equals(dev.path("status").asText())) unassignable++;
            }
            if (untilSettled && r.applied() + r.rejected() + r.failed() + unassignable + offline >= fleet.size()) {
                System.out.printf(
                        "settled: %d applied, %d rejected, %d failed, %d with no feasible configuration, %d offline%n",
                        r.applied(), r.rejected(), r.failed(), unassignable, offline);
                return 0;
            }
        }
        return 0;
    }
}
