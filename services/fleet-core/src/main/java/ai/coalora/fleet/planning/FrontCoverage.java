package ai.coalora.fleet.planning;

import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import java.util.List;

/**
 * How well a version's Pareto front covers a device: the device's budget in average bits per quantized weight,
 * and how far below it the largest configuration it can run lies (the coverage gap). A front whose points are far
 * apart, or that lacks configurations over a device's bit-widths, leaves devices on configurations well below
 * what they could hold: that is what the coverage trigger of telemetry-driven retraining looks for.
 *
 * <p>Memory is turned into bits with the front's own bytes-per-bit line: weight bytes are a dense part plus
 * (quantized weights x average bits / 8), so a least-squares line through the front's (average bits, weight
 * bytes) points gives bytes per average bit, without knowing the model.
 */
public final class FrontCoverage {
    private final List<FrontEntry> front;
    private final double bytesPerBit, topBits;

    /** What a device can hold against the front: all in average bits. */
    public record Coverage(double budgetBits, double nearestBits, double gapBits) {}

    private FrontCoverage(List<FrontEntry> front, double bytesPerBit, double topBits) {
        this.front = front;
        this.bytesPerBit = bytesPerBit;
        this.topBits = topBits;
    }

    /** The coverage of a front, or null when it has fewer than two distinct bit-widths (no line to fit). */
    public static FrontCoverage of(List<FrontEntry> front) {
        if (front == null || front.size() < 2) return null;
        double mx = 0, my = 0;
        for (FrontEntry e : front) {
            mx += e.averageBits();
            my += e.weightBytes();
        }
        mx /= front.size();
        my /= front.size();
        double sxy = 0, sxx = 0, top = 0;
        for (FrontEntry e : front) {
            sxy += (e.averageBits() - mx) * (e.weightBytes() - my);
            sxx += (e.averageBits() - mx) * (e.averageBits() - mx);
            top = Math.max(top, e.averageBits());
        }
        if (sxx < 1e-12 || sxy <= 0) return null;
        return new FrontCoverage(List.copyOf(front), sxy / sxx, top);
    }

    public double bytesPerBit() {
        return bytesPerBit;
    }

    /**
     * The device against the front: null when it can run none of the front's configurations (that is an
     * infeasible assignment, not a coverage gap). The budget above the front's top counts as the top: a device
     * that holds more than the largest configuration is covered by it.
     */
    public Coverage forDevice(DeviceCapabilities device) {
        int deviceBits = ParetoSelection.mask(device.weightBits());
        FrontEntry nearest = null;
        for (FrontEntry e : front) {
            if ((ParetoSelection.mask(e.weightBits()) & ~deviceBits) != 0) continue;
            if (e.runtimeFormats().stream().noneMatch(device.runtimeFormats()::contains)) continue;
            if (e.weightBytes() + e.adapterBytes() + device.overheadBytes() > device.memoryBytes()) continue;
            if (nearest == null || e.averageBits() > nearest.averageBits()) nearest = e;
        }
        if (nearest == null) return null;
        long spare = device.memoryBytes() - device.overheadBytes() - nearest.weightBytes() - nearest.adapterBytes();
        double budget = nearest.averageBits() + spare / bytesPerBit;
        return new Coverage(
                budget, nearest.averageBits(), Math.max(0, Math.min(budget, topBits) - nearest.averageBits()));
    }
}
