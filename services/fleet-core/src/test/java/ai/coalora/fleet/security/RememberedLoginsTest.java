package ai.coalora.fleet.security;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RememberedLoginsTest {

    @Test
    void aCheckIsRememberedForAWindowAndAFreshCheckStartsANewOne() {
        AtomicLong now = new AtomicLong();
        RememberedLogins logins = new RememberedLogins(now::get);
        assertFalse(logins.remembered("d"), "never checked");
        logins.checked("d");
        now.addAndGet(RememberedLogins.REMEMBER_NANOS - 1);
        assertTrue(logins.remembered("d"));
        now.addAndGet(1);
        assertFalse(logins.remembered("d"), "the window is over: the next request is checked in full");
        logins.checked("d");
        assertTrue(logins.remembered("d"), "a full check after the window is remembered again");
        now.addAndGet(RememberedLogins.REMEMBER_NANOS / 2);
        assertTrue(logins.remembered("d"));
        assertFalse(logins.remembered("other"));
    }

    @Test
    void memoryIsBounded() {
        RememberedLogins logins = new RememberedLogins(() -> 0);
        for (int i = 0; i < RememberedLogins.MAX_REMEMBERED; i++) logins.checked("d" + i);
        assertTrue(logins.remembered("d0"));
        logins.checked("d0"); // already there: nothing forgotten
        assertTrue(logins.remembered("d1"));
        logins.checked("new");
        assertTrue(logins.remembered("new"));
        assertFalse(logins.remembered("d1"), "beyond the bound the memory starts over");
    }
}
