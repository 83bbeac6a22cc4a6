package ai.coalora.fleet.messaging;

/** The waiting that the delivery loops do, interrupt-aware. */
final class Threads {
    private Threads() {}

    /** Backs off after a failure; an interrupt ends the wait and stays set. */
    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for a loop thread to finish its current batch. */
    static void join(Thread thread, long ms) {
        try {
            thread.join(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
