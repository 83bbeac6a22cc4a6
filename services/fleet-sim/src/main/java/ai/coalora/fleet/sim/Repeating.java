package ai.coalora.fleet.sim;

import java.util.concurrent.atomic.AtomicLong;

/** Runs a piece of traffic over and over on its own thread until closed; what fails is counted, not thrown. */
final class Repeating implements AutoCloseable {
    interface Step {
        void run() throws Exception;
    }

    private final Thread thread;
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean running = true;

    Repeating(String name, Step step) {
        thread = new Thread(
                () -> {
                    while (running) {
                        try {
                            step.run();
                            Thread.sleep(100);
                        } catch (InterruptedException e) {
                            return;
                        } catch (Exception e) {
                            failures.incrementAndGet();
                        }
                    }
                },
                name);
        thread.setDaemon(true);
        thread.start();
    }

    long failures() {
        return failures.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(60_000);
    }
}
