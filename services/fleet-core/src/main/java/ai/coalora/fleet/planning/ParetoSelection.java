package ai.coalora.fleet.planning;

import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.Footprint;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The planner's decision rule. From a promoted version's Pareto front, a device gets the configuration with
 * the highest predicted accuracy among those it can run: every matrix's weight bit-width is one it supports,
 * one of the configuration's runtime formats is one it runs, and weights + adapter + its stated runtime
 * overhead fit in its memory. Ties go to the smaller footprint. A device that fits nothing gets an explicit
 * infeasible decision with the reason.
 *
 * <p>The front is sorted once per promotion, so a decision is one scan that stops at the first fit.
 */
public final class ParetoSelection {
    private final String modelVersion, alias;
    private final FrontEntry[] byAccuracy;
    private final int[] bitMasks;
    private final long smallestBytes;

    /** The outcome for one device; {@code choice} is null when nothing fits. */
    public record Decision(FrontEntry choice, String runtimeFormat, Footprint footprint, String reason) {
        public boolean feasible() { return choice != null; }
    }

    public ParetoSelection(ModelPromoted promoted) {
        this.modelVersion = promoted.modelVersion();
        this.alias = promoted.alias();
        this.byAccuracy = promoted.front().stream()
                .sorted(Comparator.comparingDouble(FrontEntry::predictedAccuracy).reversed()
                        .thenComparingLong(e -> e.weightBytes() + e.adapterBytes()))
                .toArray(FrontEntry[]::new);
        this.bitMasks = Arrays.stream(byAccuracy).mapToInt(e -> mask(e.weightBits())).toArray();
        this.smallestBytes = Arrays.stream(byAccuracy).mapToLong(e -> e.weightBytes() + e.adapterBytes()).min().orElse(0);
    }

    public String modelVersion() { return modelVersion; }

    public String alias() { return alias; }

    public int size() { return byAccuracy.length; }

    public Decision decide(DeviceCapabilities device) {
        int deviceBits = mask(device.weightBits());
        long overhead = device.overheadBytes();
        int lackBits = 0, lackFormat = 0, lackMemory = 0;
        for (int i = 0; i < byAccuracy.length; i++) {
            FrontEntry e = byAccuracy[i];
            if ((bitMasks[i] & ~deviceBits) != 0) { lackBits++; continue; }
            String format = firstSupported(e.runtimeFormats(), device.runtimeFormats());
            if (format == null) { lackFormat++; continue; }
            long total = e.weightBytes() + e.adapterBytes() + overhead;
            if (total > device.memoryBytes()) { lackMemory++; continue; }
            Footprint footprint = new Footprint(e.weightBytes(), e.adapterBytes(), overhead, total);
            StringBuilder why = new StringBuilder(192)
                    .append("most accurate fitting configuration of ").append(byAccuracy.length).append(" on the front of ")
                    .append(alias).append(": ").append(round(e.averageBits())).append(" bits, predicted accuracy ")
                    .append(round(e.predictedAccuracy())).append(", needs ").append(total).append(" of ")
                    .append(device.memoryBytes()).append(" bytes");
            if (i > 0) {
                why.append("; ").append(i).append(" more accurate rejected (");
                exclusions(why, lackMemory, lackBits, lackFormat);
                why.append(')');
            }
            return new Decision(e, format, footprint, why.toString());
        }
        StringBuilder why = new StringBuilder(192).append("no feasible configuration among ").append(byAccuracy.length)
                .append(" on the front of ").append(alias).append(": ");
        exclusions(why, lackMemory, lackBits, lackFormat);
        if (lackMemory > 0) why.append("; the smallest needs ").append(smallestBytes + overhead).append(" bytes, the device has ").append(device.memoryBytes());
        if (lackBits > 0) why.append("; device bit-widths ").append(device.weightBits());
        if (lackFormat > 0) why.append("; device formats ").append(device.runtimeFormats());
        return new Decision(null, null, null, why.toString());
    }

    private static void exclusions(StringBuilder why, int memory, int bits, int format) {
        String sep = "";
        if (memory > 0) { why.append(memory).append(" too large for its memory"); sep = ", "; }
        if (bits > 0) { why.append(sep).append(bits).append(" use unsupported bit-widths"); sep = ", "; }
        if (format > 0) why.append(sep).append(format).append(" need an unsupported runtime format");
    }

    private static String firstSupported(List<String> offered, List<String> supported) {
        for (String f : offered) if (supported.contains(f)) return f;
        return null;
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
