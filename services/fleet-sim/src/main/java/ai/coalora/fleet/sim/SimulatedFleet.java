package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import ai.coalora.fleet.planning.GgufPlanning;
import ai.coalora.fleet.schema.EventSchemas;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Simulated devices with varied capabilities, drawn around a version's front so that some fit its largest
 * configuration, most fall in between, and a few fit nothing: memory from just under the smallest
 * footprint to above the largest, bit-width support from "everything" to "8-bit only", and a few devices
 * that only run GGUF (which an encoder's front does not offer). {@link #llamaCppDevices} draws devices that run
 * llama.cpp, for a decoder version.
 */
public final class SimulatedFleet {
    static final String SOURCE = "/coalora/simulated-fleet";
    /** Kernels a device has: most run every bit-width, some lack 2- or 3-bit kernels, a few only 8-bit. */
    static final List<List<Integer>> BIT_SUPPORT =
            weighted(Map.of(List.of(2, 3, 4, 8), 16, List.of(3, 4, 8), 2, List.of(4, 8), 1, List.of(8), 1));

    static final List<String> COMPUTE = List.of("micro", "low", "mid", "high");

    private SimulatedFleet() {}

    /** Each option repeated by its weight, in a fixed order (so a seed gives the same fleet). */
    static List<List<Integer>> weighted(Map<List<Integer>, Integer> weights) {
        List<List<Integer>> out = new ArrayList<>();
        weights.entrySet().stream()
                .sorted(Comparator.comparing(e -> e.getKey().toString()))
                .forEach(e -> {
                    for (int i = 0; i < e.getValue(); i++) out.add(e.getKey());
                });
        return out;
    }

    public static List<DeviceCapabilities> devices(int count, List<FrontEntry> front, long seed) {
        Memory m = new Memory(front);
        Random rnd = new Random(seed);
        List<DeviceCapabilities> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long overhead = m.overhead(rnd), memory = m.memory(rnd, overhead);
            double f = rnd.nextDouble();
            List<String> formats = f < 0.9
                    ? List.of("coalora-packed")
                    : f < 0.95 ? List.of("gguf") : List.of("gguf", "coalora-packed");
            out.add(new DeviceCapabilities(
                    deviceId(i),
                    memory,
                    BIT_SUPPORT.get(rnd.nextInt(BIT_SUPPORT.size())),
                    formats,
                    COMPUTE.get(rnd.nextInt(COMPUTE.size())),
                    overhead,
                    Map.of("fleet", "simulated")));
        }
        return out;
    }

    /** What llama.cpp's CPU build executes: every K-quant, the legacy types, and the full-precision ones. */
    public static final List<String> LLAMA_CPP_TYPES =
            List.of("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q4_0", "Q5_0", "Q8_0", "F16", "F32");
    /** A build (or a port) without the K-quants: 2-, 3- and 4-bit matrices all run as Q4_0. */
    public static final List<String> LEGACY_TYPES = List.of("Q4_0", "Q5_0", "Q8_0", "F16", "F32");
    /** A build without Q3_K: 3-bit matrices run as Q4_0, the others as K-quants (a mixed plan). */
    public static final List<String> NO_Q3_K_TYPES =
            LLAMA_CPP_TYPES.stream().filter(t -> !t.equals("Q3_K")).toList();

    /**
     * Devices that run llama.cpp, with memory drawn around a decoder version's front (its GGUF bytes) as
     * {@link #devices} draws it: seven in ten declare llama.cpp's full set of types, 15% a build without Q3_K (their
     * 3-bit matrices run as Q4_0: mixed plans), 15% only the legacy types (their configurations cost more bytes there,
     * and some no longer fit). Ids {@code llama-00000}, ...
     */
    public static List<DeviceCapabilities> llamaCppDevices(int count, List<FrontEntry> front, long seed) {
        Memory m = new Memory(front);
        Random rnd = new Random(seed);
        List<DeviceCapabilities> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long overhead = m.overhead(rnd), memory = m.memory(rnd, overhead);
            out.add(new DeviceCapabilities(
                    String.format("llama-%05d", i),
                    memory,
                    List.of(2, 3, 4, 8),
                    List.of(GgufPlanning.FORMAT),
                    COMPUTE.get(rnd.nextInt(COMPUTE.size())),
                    overhead,
                    Map.of("fleet", "simulated", "runtime", "llama.cpp"),
                    buildTypes(rnd.nextDouble())));
        }
        return out;
    }

    private static List<String> buildTypes(double f) {
        return f < 0.7 ? LLAMA_CPP_TYPES : f < 0.85 ? NO_Q3_K_TYPES : LEGACY_TYPES;
    }

    /** Memory drawn from just under the front's smallest footprint to just above its largest, plus a runtime overhead. */
    private record Memory(long smallest, long largest) {
        Memory(List<FrontEntry> front) {
            this(
                    front.stream()
                            .mapToLong(e -> e.weightBytes() + e.adapterBytes())
                            .min()
                            .orElseThrow(),
                    front.stream()
                            .mapToLong(e -> e.weightBytes() + e.adapterBytes())
                            .max()
                            .orElseThrow());
        }

        long overhead(Random rnd) {
            return (1 + rnd.nextInt(8)) * 1024L * 1024L;
        }

        long memory(Random rnd, long overhead) {
            double span = largest * 1.02 - smallest * 0.99;
            return overhead + (long) (smallest * 0.99 + rnd.nextDouble() * span);
        }
    }

    public static String deviceId(int i) {
        return String.format("sim-%05d", i);
    }

    /**
     * Each device announces its capabilities to the gateway with its own token, as a device does at boot and whenever
     * they change; returns once the gateway accepted every one (published through its outbox).
     */
    public static void announce(
            GatewayClient gateway, Map<String, String> tokens, Collection<DeviceCapabilities> devices)
            throws IOException {
        for (DeviceCapabilities d : devices) {
            String token = tokens.get(d.deviceId());
            if (token == null) throw new IllegalArgumentException("device " + d.deviceId() + " is not enrolled");
            gateway.capabilities(token, d);
        }
    }

    /**
     * The capabilities event as the gateway publishes it for a device: CloudEvent, key and subject = device id (what
     * the tests that write the topic directly, as a compromised service would, send).
     */
    public static CloudEvent event(DeviceCapabilities d) {
        return CloudEvent.create(
                SOURCE + "/" + d.deviceId(),
                EventTypes.CAPABILITIES,
                d.deviceId(),
                EventSchemas.load().dataschema(EventTypes.CAPABILITIES),
                Payloads.toJson(d));
    }

    /** A producer with the settings of the services' own (idempotent, acks=all), for writing the topic directly. */
    public static KafkaProducer<String, byte[]> producer(KafkaConnection kafka) {
        return new KafkaProducer<>(KafkaSettings.producer(kafka, "simulated-fleet"));
    }
}
