package ai.coalora.fleet.messaging;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.Set;

/**
 * Whose fault a failure is. An outage's (the database, the broker, the registry unreachable or overloaded, a deadlock
 * or a serialization conflict) is transient: the batch is rolled back and retried from the committed offsets, and
 * nothing is skipped. Anything else, thrown while handling an event, is that event's: retrying would fail the same
 * way for ever and stall the consumer, so the event is dead-lettered with the failure as its reason.
 */
public final class Failures {
    /** SQLState classes of an outage: connection (08), rollback (40: deadlock, serialization), resources (53), operator (57), system (58). */
    private static final Set<String> TRANSIENT_SQL_CLASSES = Set.of("08", "40", "53", "57", "58");

    private Failures() {}

    /** True when {@code e}, or any of its causes, is an outage rather than the event's fault. */
    public static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) return true;
            if (t instanceof SQLException s
                    && s.getSQLState() != null
                    && s.getSQLState().length() >= 2) {
                if (TRANSIENT_SQL_CLASSES.contains(s.getSQLState().substring(0, 2))) return true;
            }
            if (t instanceof InterruptedException || t instanceof InterruptedIOException) return true;
            if (t instanceof IOException io && !isRefusal(io)) return true;
            if (t instanceof UncheckedIOException u && !isRefusal(u.getCause())) return true;
        }
        return false;
    }

    /** An answer about this request, not an outage: a missing file or version, an HTTP 4xx from a peer. */
    private static boolean isRefusal(IOException e) {
        return e instanceof FileNotFoundException || e instanceof Refused;
    }

    /** A failure as a dead-letter reason: its type and message, and its root cause's when that differs. */
    public static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String top = e.getClass().getSimpleName() + ": " + e.getMessage();
        return root == e
                ? top
                : top + " (caused by " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }

    /** A peer refused a request (HTTP 4xx but 408 and 429): asking again gets the same answer. */
    public static final class Refused extends IOException {
        private final int status;

        /** @param status the HTTP status, or 0 for a refusal that is not an HTTP answer (a corrupt or unsafe reply) */
        public Refused(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }

        /** A peer's HTTP error as what it is: a refusal (4xx), else an outage ({@link Unavailable}). */
        public static IOException ofStatus(int status, String message) {
            return refuses(status) ? new Refused(status, message) : new Unavailable(status, message);
        }

        /** Whether an HTTP status refuses the request itself (4xx) rather than reporting a busy or broken peer. */
        public static boolean refuses(int status) {
            return status / 100 == 4 && status != 408 && status != 429;
        }
    }

    /** A peer answered that it cannot serve now (5xx, 408, 429): an outage; the same request may work later. */
    public static final class Unavailable extends IOException {
        private final int status;

        public Unavailable(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
