package ai.coalora.fleet.security;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Successful password checks, remembered for {@link #REMEMBER_NANOS} after the last full check, so that a client that
 * sends its Basic credentials with every request (a dashboard polling, a script) pays one PBKDF2 check (about half a
 * second of CPU) per window instead of one per request. Keys are digests of name and password, never the password;
 * at most {@link #MAX_REMEMBERED} are kept (beyond that the memory starts over).
 */
public final class RememberedLogins {
    static final long REMEMBER_NANOS = 5L * 60 * 1_000_000_000L;
    static final int MAX_REMEMBERED = 10_000;

    private final ConcurrentHashMap<String, Long> checkedAt = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    public RememberedLogins() {
        this(System::nanoTime);
    }

    RememberedLogins(LongSupplier clock) {
        this.clock = clock;
    }

    /** Whether this digest passed a full check less than {@link #REMEMBER_NANOS} ago. */
    public boolean remembered(String digest) {
        Long at = checkedAt.get(digest);
        return at != null && clock.getAsLong() - at < REMEMBER_NANOS;
    }

    /** A full check of this digest succeeded now: remembered for another window. */
    public void checked(String digest) {
        if (checkedAt.size() >= MAX_REMEMBERED && !checkedAt.containsKey(digest)) checkedAt.clear();
        checkedAt.put(digest, clock.getAsLong());
    }
}
