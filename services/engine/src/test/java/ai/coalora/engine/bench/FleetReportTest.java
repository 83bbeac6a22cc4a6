package ai.coalora.engine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.bench.PaperBenchmark.Evaluation;
import ai.coalora.engine.bench.PaperBenchmark.MethodResult;
import ai.coalora.engine.bench.PaperBenchmark.SeedRun;
import ai.coalora.engine.bench.PaperBenchmark.Served;
import ai.coalora.engine.bench.PaperBenchmark.TaskResult;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The fleet metric and the decision rules on hand-made results (pure logic: no model). */
class FleetReportTest {
    static final int N = 400;
    static final ModelQuantConfig TWO = config(2), THREE = config(3);

    static ModelQuantConfig config(int bits) {
        return ModelQuantConfig.uniform(
                List.of(new MatrixSpec("bert.encoder.layer.0.attention.self.query.weight", 16, 64)),
                QuantConfig.integerOnly(bits),
                QuantizerKind.NF);
    }

    /** Correct on each example with probability p. */
    static boolean[] correct(Random random, double p) {
        boolean[] c = new boolean[N];
        for (int i = 0; i < N; i++) c[i] = random.nextDouble() < p;
        return c;
    }

    /** A method whose devices (budgets 2.5 and 4.0, F_low up to 3.0) score p on every example set. */
    static MethodResult method(Method m, Random random, double pLow, double pHigh, double seconds) {
        boolean[] low = correct(random, pLow), high = correct(random, pHigh);
        List<Served> fleet = List.of(new Served(2.5, TWO, low, low), new Served(4.0, THREE, high, high));
        List<Evaluation> evaluations = List.of(new Evaluation(TWO, true, low), new Evaluation(THREE, false, high));
        return new MethodResult(
                m,
                seconds,
                0,
                "any",
                1,
                0,
                evaluations,
                m == Method.PER_CONFIGURATION ? List.of() : List.of(new Evaluation(THREE, false, high)),
                fleet,
                List.of(),
                List.of(),
                0,
                0,
                null,
                List.of());
    }

    static TaskResult result(double coaLow, double coaSeconds) {
        Random random = new Random(9);
        BenchSettings s = BenchSettings.quickRun()
                .withMethods(List.of(Method.PER_CONFIGURATION, Method.SHARED_LORA, Method.COA_FROZEN));
        s = new BenchSettings(
                s.quick(),
                s.trainLimit(),
                s.testLimit(),
                s.maxLength(),
                s.training(),
                s.trainingSet(),
                s.segments(),
                s.evaluationBatch(),
                s.candidates(),
                List.of(2.5),
                List.of(4.0),
                List.of(4.0),
                List.of(2.5, 4.0),
                3.0,
                1,
                3,
                s.methods(),
                s.theta(),
                false,
                false);
        List<SeedRun> seeds = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            seeds.add(new SeedRun(
                    42 + k,
                    List.of(
                            method(Method.PER_CONFIGURATION, random, 0.80, 0.90, 100),
                            method(Method.SHARED_LORA, random, 0.80, 0.90, 30),
                            method(Method.COA_FROZEN, random, coaLow, 0.90, coaSeconds))));
        }
        return new TaskResult(
                "synthetic", 1000, N, N, List.of(TWO), List.of(THREE), List.of(THREE), 10, s, seeds, null);
    }

    static FleetReport.Verdict verdict(TaskResult t, String rule) {
        return FleetReport.verdicts(t).stream()
                .filter(v -> v.rule().startsWith(rule))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void aClearLowBitGainMeetsTheRulesAndNoGainDoesNot() {
        TaskResult better = result(0.95, 40);
        FleetReport.Row coa = FleetReport.rows(better).get(2);
        assertEquals(Method.COA_FROZEN, coa.method());
        assertTrue(
                Math.abs(coa.fleetLow().value() - 0.95) < 0.03,
                "F_low is the low-bit device's accuracy: " + coa.fleetLow());
        assertTrue(coa.fleetLow().low() < coa.fleetLow().value()
                && coa.fleetLow().value() < coa.fleetLow().high());
        assertTrue(verdict(better, "(a)").met(), verdict(better, "(a)").toString());
        assertTrue(verdict(better, "(b)").met(), verdict(better, "(b)").toString());
        assertTrue(verdict(better, "(d)").met(), "40 s of 100 s is 0.4x");

        TaskResult same = result(0.80, 60);
        assertFalse(verdict(same, "(a)").met(), "no low-bit gain must not pass rule (a): " + verdict(same, "(a)"));
        assertFalse(verdict(same, "(d)").met(), "60 s of 100 s is 0.6x");
        assertTrue(
                verdict(better, "(g)").met() && verdict(same, "(g)").met(),
                "neither is clearly below Shared-LoRA on F");
        TaskResult worse = result(0.60, 40);
        assertFalse(
                verdict(worse, "(g)").met(),
                "20 points lost at 2.5 bits is F clearly below Shared-LoRA: " + verdict(worse, "(g)"));
        String md = FleetReport.markdown(better);
        assertTrue(md.contains("| CoA-LoRA (frozen set) |") && md.contains("Decision rules"), md);
    }
}
