package ai.coalora.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of a process as Linux accounts it ({@code /proc/PID/status}): what the benchmarks report per stage.
 * The peak ({@code VmHWM}) counts everything resident, the JVM's heap, DJL's native tensors and mapped files alike;
 * {@link #resetPeak} starts a new stage's peak (writing 5 to {@code clear_refs}). Where /proc is missing (not Linux),
 * every reading is -1.
 */
public final class ProcessMemory {
    private ProcessMemory() {}

    /** The highest resident set of process {@code pid} since it started or since its peak was last reset, in bytes. */
    public static long peakBytes(long pid) {
        return field(pid, "VmHWM:");
    }

    /** The resident set of process {@code pid} now, in bytes. */
    public static long residentBytes(long pid) {
        return field(pid, "VmRSS:");
    }

    public static long peakBytes() {
        return peakBytes(ProcessHandle.current().pid());
    }

    /** Starts a new peak for this process (the peak becomes what is resident now); false where it cannot. */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static long field(long pid, String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024; // kB
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or the process is gone
        }
        return -1;
    }
}
