package ai.coalora.fleet.security;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Slows password guessing per user name: after {@link #FREE_FAILURES} failed logins of one name, that name is refused
 * without checking anything for a delay that doubles with every further failure, up to {@link #MAX_DELAY_NANOS}; a
 * success clears its record. Names that do not exist are throttled exactly like names that do, so refusals tell an
 * attacker nothing about which names exist, and a refused attempt costs no password hash (no CPU to exhaust).
 * Records are in memory, per service instance; a name's record is dropped once its delay is over and it stays quiet.
 */
public final class LoginThrottle {
    static final int FREE_FAILURES = 5;
    static final long BASE_DELAY_NANOS = 1_000_000_000L, MAX_DELAY_NANOS = 15L * 60 * 1_000_000_000L;
    static final int MAX_TRACKED = 100_000;

    private record Failures(int count, long blockedUntil) {}

    private final ConcurrentHashMap<String, Failures> failures = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    public LoginThrottle() {
        this(System::nanoTime);
    }

    LoginThrottle(LongSupplier clock) {
        this.clock = clock;
    }

    /** Nanoseconds {@code name} must still wait before its next attempt is checked; 0 when it may try now. */
    public long waitNanos(String name) {
        Failures f = failures.get(name);
        if (f == null) return 0;
        long left = f.blockedUntil() - clock.getAsLong();
        return Math.max(0, left);
    }

    /**
     * Records a checked attempt of {@code name} that failed. Attempts refused while waiting are not counted: a guesser
     * gets one check per delay, and the name's owner is locked out for at most {@link #MAX_DELAY_NANOS} at a time.
     */
    public void failed(String name) {
        long now = clock.getAsLong();
        if (failures.size() >= MAX_TRACKED) failures.values().removeIf(f -> f.blockedUntil() < now);
        failures.compute(name, (n, f) -> {
            int count = f == null ? 1 : f.count() + 1;
            if (count <= FREE_FAILURES) return new Failures(count, now);
            int doublings = Math.min(30, count - FREE_FAILURES - 1);
            long delay = Math.min(MAX_DELAY_NANOS, BASE_DELAY_NANOS << doublings);
            return new Failures(count, now + delay);
        });
    }

    /** A successful login of {@code name}: its failures are forgotten. */
    public void succeeded(String name) {
        failures.remove(name);
    }
}
