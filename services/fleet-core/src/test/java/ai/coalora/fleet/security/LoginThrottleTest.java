package ai.coalora.fleet.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {
    static final long S = 1_000_000_000L;

    @Test
    void aNameIsFreeForFiveFailuresThenWaitsLongerAfterEachUpToTheCap() {
        AtomicLong now = new AtomicLong(1_000 * S);
        LoginThrottle t = new LoginThrottle(now::get);
        for (int i = 0; i < LoginThrottle.FREE_FAILURES; i++) {
            assertEquals(0, t.waitNanos("alice"));
            t.failed("alice");
        }
        assertEquals(0, t.waitNanos("alice"), "five failures cost nothing yet");
        t.failed("alice");
        assertEquals(S, t.waitNanos("alice"), "the sixth: one second");
        now.addAndGet(S);
        assertEquals(0, t.waitNanos("alice"));
        t.failed("alice");
        assertEquals(2 * S, t.waitNanos("alice"), "then it doubles");
        for (int i = 0; i < 40; i++) t.failed("alice");
        assertEquals(LoginThrottle.MAX_DELAY_NANOS, t.waitNanos("alice"), "capped");
        assertEquals(0, t.waitNanos("bob"), "per name");
    }

    @Test
    void aSuccessForgetsTheFailuresAndUnknownNamesAreThrottledAlike() {
        AtomicLong now = new AtomicLong(0);
        LoginThrottle t = new LoginThrottle(now::get);
        for (int i = 0; i <= LoginThrottle.FREE_FAILURES; i++) {
            t.failed("alice");
            t.failed("no-such-user");
        }
        assertEquals(t.waitNanos("alice"), t.waitNanos("no-such-user"));
        assertTrue(t.waitNanos("alice") > 0);
        t.succeeded("alice");
        assertEquals(0, t.waitNanos("alice"));
    }
}
