package ai.coalora.cli;

import ai.coalora.engine.train.Progress;
import java.io.PrintStream;

/**
 * A progress bar on stderr (stdout stays clean for --json). Redraws at most every 100 ms and ends the
 * line when a phase completes or changes.
 */
final class ProgressBar implements Progress {
    private static final int WIDTH = 30;
    private final PrintStream out = System.err;
    private String phase;
    private long lastDraw;
    private final long started = System.nanoTime();

    @Override
    public synchronized void update(String newPhase, long done, long total) {
        long now = System.nanoTime();
        boolean finished = done >= total;
        if (phase != null && !phase.equals(newPhase)) out.println();
        if (!finished && newPhase.equals(phase) && now - lastDraw < 100_000_000L) return;
        phase = newPhase;
        lastDraw = now;
        int filled = total <= 0 ? WIDTH : (int) (WIDTH * Math.min(1.0, (double) done / total));
        out.printf(
                "\r%-28s [%s%s] %d/%d  %.0fs",
                newPhase, "#".repeat(filled), " ".repeat(WIDTH - filled), done, total, (now - started) / 1e9);
        if (finished) {
            out.println();
            phase = null;
        }
        out.flush();
    }
}
