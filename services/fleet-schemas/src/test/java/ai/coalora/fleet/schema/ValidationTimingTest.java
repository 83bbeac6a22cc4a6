package ai.coalora.fleet.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Measures validation speed (printed, not asserted: timings depend on the machine) and checks that one instance
 * gives the same answers from many threads at once. Also runnable as a main:
 * {@code java -cp ... ai.coalora.fleet.schema.ValidationTimingTest}.
 */
class ValidationTimingTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String CAPS = "ai.coalora.device.capabilities";

    static JsonNode capabilities() throws Exception {
        return MAPPER.readTree(SchemaFiles.recorded()
                        .resolve(CAPS)
                        .resolve("2025-11-full.json")
                        .toFile())
                .get("data");
    }

    @Test
    void measure() throws Exception {
        EventSchemas.compile(); // class loading, first use of the library
        long start = System.nanoTime();
        EventSchemas schemas = EventSchemas.compile();
        double loadMs = (System.nanoTime() - start) / 1e6;
        JsonNode data = capabilities();
        JsonNode event = MAPPER.readTree(SchemaFiles.recorded()
                .resolve(CAPS)
                .resolve("2025-11-full.json")
                .toFile());
        for (int i = 0; i < 50_000; i++) { // warm-up (JIT)
            schemas.validate(CAPS, data);
            schemas.validateEnvelope(event);
        }
        int n = 200_000;
        long sink = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sink += schemas.validate(CAPS, data).size();
        }
        double dataUs = (System.nanoTime() - t0) / 1e3 / n;
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            sink += schemas.validateEnvelope(event).size();
        }
        double envelopeUs = (System.nanoTime() - t1) / 1e3 / n;
        assertEquals(0, sink);
        System.out.printf(
                "EventSchemas: compile all 8 schemas %.1f ms (warm JVM); capabilities data %.2f us/validation; "
                        + "full envelope + data %.2f us/validation (%d each, after 50,000 warm-up)%n",
                loadMs, dataUs, envelopeUs, n);
    }

    @Test
    void sameAnswersFromManyThreads() throws Exception {
        EventSchemas schemas = EventSchemas.load();
        JsonNode valid = capabilities();
        JsonNode invalid = valid.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) invalid).put("memoryBytes", "x");
        List<String> expected = schemas.validate(CAPS, invalid);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit((Callable<Boolean>) () -> {
                    for (int i = 0; i < 5_000; i++) {
                        if (!schemas.validate(CAPS, valid).isEmpty()
                                || !schemas.validate(CAPS, invalid).equals(expected)) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> r : results) {
                assertEquals(true, r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    public static void main(String[] args) throws Exception {
        new ValidationTimingTest().measure();
    }
}
