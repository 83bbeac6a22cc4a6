package ai.coalora.fleet.planning;

import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.Footprint;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.planning.GgufPlanning.GgufPlan;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The planner's decision rule. From a promoted version's Pareto front, a device gets the configuration with
 * the best predicted quality (in the front's measure: the highest accuracy, the lowest perplexity) among those it can
 * run: every matrix's weight bit-width is one it supports,
 * one of the configuration's runtime formats is one it runs, and weights + adapter + its stated runtime
 * overhead fit in its memory. Ties go to the smaller footprint. A device that fits nothing gets an explicit
 * infeasible decision with the reason.
 *
 * <p>Formats are tried in the configuration's order. A gguf runtime that declares its GGUF types
 * ({@link DeviceCapabilities#ggufTypes()}) takes a configuration only if every matrix maps onto a declared type,
 * and its weights are budgeted at those types' real bytes ({@link GgufPlanning}); without declared types a gguf
 * runtime is budgeted like the packed layout, as before.
 *
 * <p>The front is sorted once per promotion, so a decision is one scan that stops at the first fit.
 */
public final class ParetoSelection {
    private final String modelVersion, alias;
    private final QualityMeasure measure;
    private final FrontEntry[] bestFirst;
    private final int[] bitMasks;

    /**
     * The outcome for one device; {@code choice} is null when nothing fits. {@code gguf} is the GGUF mapping when the
     * configuration goes to a gguf runtime that declares its types (then the footprint's weight bytes are GGUF's),
     * else null.
     */
    public record Decision(FrontEntry choice, String runtimeFormat, Footprint footprint, String reason, GgufPlan gguf) {
        public Decision(FrontEntry choice, String runtimeFormat, Footprint footprint, String reason) {
            this(choice, runtimeFormat, footprint, reason, null);
        }

        public boolean feasible() {
            return choice != null;
        }
    }

    public ParetoSelection(ModelPromoted promoted) {
        this.modelVersion = promoted.modelVersion();
        this.alias = promoted.alias();
        this.measure = measureOf(promoted.front());
        this.bestFirst = promoted.front().stream()
                .sorted(Comparator.comparing(FrontEntry::predicted, measure.bestFirst())
                        .thenComparingLong(e -> footprint(e.weightBytes(), e.adapterBytes(), 0)))
                .toArray(FrontEntry[]::new);
        this.bitMasks =
                Arrays.stream(bestFirst).mapToInt(e -> mask(e.weightBits())).toArray();
    }

    /**
     * Bytes a configuration needs: weights + adapter + runtime overhead, in checked arithmetic. The schemas bound each
     * term far below overflow; a sum that would still overflow fits no device, so it saturates instead of wrapping
     * into a small number that would "fit".
     */
    static long footprint(long weightBytes, long adapterBytes, long overheadBytes) {
        try {
            return Math.addExact(Math.addExact(weightBytes, adapterBytes), overheadBytes);
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * The one measure of a front's predictions; a front mixing measures (or an empty one) has no order of "best" and is
     * refused.
     */
    public static QualityMeasure measureOf(List<FrontEntry> front) {
        if (front == null || front.isEmpty()) throw new IllegalArgumentException("an empty front");
        QualityMeasure m = front.get(0).measure();
        for (FrontEntry e : front)
            if (e.measure() != m)
                throw new IllegalArgumentException("a front mixes measures (" + m.jsonName() + ", "
                        + e.measure().jsonName() + ")");
        return m;
    }

    public QualityMeasure measure() {
        return measure;
    }

    public String modelVersion() {
        return modelVersion;
    }

    public String alias() {
        return alias;
    }

    public int size() {
        return bestFirst.length;
    }

    public Decision decide(DeviceCapabilities device) {
        int deviceBits = mask(device.weightBits());
        long overhead = device.overheadBytes();
        Set<String> ggufTypes = device.declaresGgufTypes() ? GgufPlanning.declared(device.ggufTypes()) : null;
        int lackBits = 0, lackFormat = 0, lackMemory = 0, lackTypes = 0;
        long smallestTooLarge = Long.MAX_VALUE;
        Set<String> missingTypes =
                new TreeSet<>(Comparator.comparing(ParetoSelection::bitsOf).thenComparing(Comparator.naturalOrder()));
        for (int i = 0; i < bestFirst.length; i++) {
            FrontEntry e = bestFirst[i];
            if ((bitMasks[i] & ~deviceBits) != 0) {
                lackBits++;
                continue;
            }
            boolean anyFormat = false, tooLarge = false;
            // the configuration's formats in its order; the first the device runs and that fits wins
            for (String format : e.runtimeFormats()) {
                if (!device.runtimeFormats().contains(format)) continue;
                anyFormat = true;
                long weightBytes = e.weightBytes();
                GgufPlan gguf = null;
                if (ggufTypes != null && GgufPlanning.FORMAT.equals(format)) {
                    GgufPlanning.Result r = GgufPlanning.plan(e, ggufTypes);
                    if (!r.mapped()) {
                        missingTypes.addAll(r.missing());
                        continue;
                    }
                    gguf = r.plan();
                    weightBytes = gguf.weightBytes();
                }
                long total = footprint(weightBytes, e.adapterBytes(), overhead);
                if (total > device.memoryBytes()) {
                    tooLarge = true;
                    smallestTooLarge = Math.min(smallestTooLarge, total);
                    continue;
                }
                Footprint footprint = new Footprint(weightBytes, e.adapterBytes(), overhead, total);
                StringBuilder why = new StringBuilder(256)
                        .append("best predicted fitting configuration of ")
                        .append(bestFirst.length)
                        .append(" on the front of ")
                        .append(alias)
                        .append(": ")
                        .append(round(e.averageBits()))
                        .append(" bits, predicted ")
                        .append(measure.jsonName())
                        .append(' ')
                        .append(round(e.predicted()))
                        .append(", needs ")
                        .append(total)
                        .append(" of ")
                        .append(device.memoryBytes())
                        .append(" bytes");
                if (gguf != null) {
                    why.append(" as gguf with ")
                            .append(gguf.mapping())
                            .append(" types ")
                            .append(gguf.types())
                            .append(" (")
                            .append(round(gguf.bitsPerWeight()))
                            .append(" bits per quantized weight)");
                }
                if (i > 0) {
                    why.append("; ").append(i).append(" better predicted rejected (");
                    exclusions(why, lackMemory, lackBits, lackFormat, lackTypes);
                    why.append(')');
                }
                return new Decision(e, format, footprint, why.toString(), gguf);
            }
            if (!anyFormat) lackFormat++;
            else if (tooLarge) lackMemory++;
            else lackTypes++;
        }
        StringBuilder why = new StringBuilder(256)
                .append("no feasible configuration among ")
                .append(bestFirst.length)
                .append(" on the front of ")
                .append(alias)
                .append(": ");
        exclusions(why, lackMemory, lackBits, lackFormat, lackTypes);
        if (lackMemory > 0)
            why.append("; the smallest needs ")
                    .append(smallestTooLarge)
                    .append(" bytes, the device has ")
                    .append(device.memoryBytes());
        if (lackBits > 0) why.append("; device bit-widths ").append(device.weightBits());
        if (lackFormat > 0) why.append("; device formats ").append(device.runtimeFormats());
        if (!missingTypes.isEmpty()) {
            why.append("; device GGUF types ")
                    .append(ggufTypes)
                    .append(", missing ")
                    .append(String.join(", ", missingTypes));
        }
        return new Decision(null, null, null, why.toString(), null);
    }

    private static void exclusions(StringBuilder why, int memory, int bits, int format, int types) {
        String sep = "";
        if (memory > 0) {
            why.append(memory).append(" too large for its memory");
            sep = ", ";
        }
        if (bits > 0) {
            why.append(sep).append(bits).append(" use unsupported bit-widths");
            sep = ", ";
        }
        if (format > 0) {
            why.append(sep).append(format).append(" need an unsupported runtime format");
            sep = ", ";
        }
        if (types > 0) why.append(sep).append(types).append(" need GGUF types the device lacks");
    }

    /** The bit-width in a missing-types text such as "Q2_K or Q4_0 (2-bit)", for ordering (none: last). */
    private static int bitsOf(String missing) {
        int open = missing.lastIndexOf('('), dash = missing.lastIndexOf("-bit)");
        if (open < 0 || dash < open) return Integer.MAX_VALUE;
        try {
            return Integer.parseInt(missing.substring(open + 1, dash));
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    /** Bit i set when i-bit weights are used (bit-widths 2..8 fit an int). */
    static int mask(List<Integer> bits) {
        int m = 0;
        for (int b : bits) m |= 1 << b;
        return m;
    }

    private static String round(double v) {
        return Double.toString(Math.round(v * 10000) / 10000.0);
    }
}
