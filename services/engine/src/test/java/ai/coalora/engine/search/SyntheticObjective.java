package ai.coalora.engine.search;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A stand-in for the task loss with a known structure: loss = sum_i w_i share_i 2^(-2 (eff_i - 2)) / sum_i w_i share_i,
 * where eff_i = b + (bitsPerWeight - b) / 2 (scale bits help, but half as much as weight bits) and w_i is a per-matrix
 * sensitivity. For a budget the optimum gives important and small matrices more bits (reverse water-filling),
 * so a search that does not move cannot reach the front. A small deterministic ripple (+-0.2%) plays the noise.
 */
final class SyntheticObjective {
    final List<MatrixSpec> matrices;
    final double[] sensitivity;

    SyntheticObjective(List<MatrixSpec> matrices, double[] sensitivity) {
        this.matrices = List.copyOf(matrices);
        this.sensitivity = sensitivity.clone();
    }

    /** {@code count} matrices of mixed shapes with sensitivities spread over 0.25..4. */
    static SyntheticObjective small(int count) {
        List<MatrixSpec> specs = new ArrayList<>();
        double[] w = new double[count];
        int[][] shapes = {{64, 64}, {256, 64}, {64, 256}, {64, 64}};
        for (int i = 0; i < count; i++) {
            int[] s = shapes[i % shapes.length];
            specs.add(new MatrixSpec("m" + i, s[0], s[1]));
            w[i] = Math.pow(2, -2 + 4.0 * i / Math.max(1, count - 1));
        }
        return new SyntheticObjective(specs, w);
    }

    /** The real model's 36 matrices: 6 blocks x (q, k, v, attention output 384x384; intermediate; output). */
    static SyntheticObjective model() {
        String[] roles = {"query", "key", "value", "attention.output", "intermediate", "output"};
        int[][] shapes = {{384, 384}, {384, 384}, {384, 384}, {384, 384}, {1536, 384}, {384, 1536}};
        List<MatrixSpec> specs = new ArrayList<>();
        double[] w = new double[36];
        for (int block = 0; block < 6; block++) {
            for (int r = 0; r < 6; r++) {
                specs.add(new MatrixSpec("layer." + block + "." + roles[r], shapes[r][0], shapes[r][1]));
                w[block * 6 + r] = 0.5 + (r == 1 ? 0.2 : r == 5 ? 3 : 1) * (1 + block % 3);
            }
        }
        return new SyntheticObjective(specs, w);
    }

    double loss(ModelQuantConfig config) {
        double num = 0, den = 0;
        long hash = 17;
        for (int i = 0; i < matrices.size(); i++) {
            QuantConfig c = config.matrices().get(i).config();
            double share = matrices.get(i).numel();
            double eff = c.b() + (c.bitsPerWeight() - c.b()) / 2;
            num += sensitivity[i] * share * Math.pow(2, -2 * (eff - 2));
            den += sensitivity[i] * share;
            hash = hash * 1_000_003L + c.index();
        }
        double ripple = ((Long.hashCode(hash * 0x9E3779B97F4A7C15L) & 0xFFFF) / 65535.0 - 0.5) * 0.004;
        return num / den * (1 + ripple);
    }

    Evaluated evaluate(ModelQuantConfig config) {
        return Evaluated.of(config, loss(config));
    }

    ModelQuantConfig uniform(QuantConfig option) {
        return ModelQuantConfig.uniform(matrices, option, QuantizerKind.NF);
    }

    /** Every matrix gets an option drawn uniformly from the 432. */
    ModelQuantConfig random(Random r) {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (MatrixSpec m : matrices)
            entries.add(new ModelQuantConfig.Entry(m, QuantConfig.all().get(r.nextInt(432))));
        return new ModelQuantConfig(QuantizerKind.NF, entries);
    }

    /**
     * A configuration spread over the whole bit range: a random level u in [0, 3] puts every matrix's weight bits at
     * WEIGHT_BITS[floor u] or the next value (probability frac u); scale fields are random.
     */
    ModelQuantConfig mixed(Random r) {
        double u = 3 * r.nextDouble();
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (MatrixSpec m : matrices) {
            int level = Math.min(3, (int) u + (r.nextDouble() < u - (int) u ? 1 : 0));
            QuantConfig c = QuantConfig.all().get(r.nextInt(432));
            entries.add(new ModelQuantConfig.Entry(
                    m, new QuantConfig(QuantConfig.WEIGHT_BITS.get(level), c.b0(), c.b1(), c.B0(), c.B1())));
        }
        return new ModelQuantConfig(QuantizerKind.NF, entries);
    }

    /** A fixed reference covering every configuration: beyond the all-cheapest loss and the all-richest bits. */
    Objectives fixedReference() {
        QuantConfig cheapest = new QuantConfig(2, 2, ai.coalora.engine.quant.ScaleType.BF16, 64, 256);
        QuantConfig richest = new QuantConfig(8, 8, ai.coalora.engine.quant.ScaleType.FP32, 16, 16);
        return Hypervolume.referencePoint(
                List.of(
                        evaluate(uniform(cheapest)).objectives(),
                        evaluate(uniform(richest)).objectives()),
                0.1);
    }
}
