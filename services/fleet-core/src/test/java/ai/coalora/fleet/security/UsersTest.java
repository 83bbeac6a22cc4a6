package ai.coalora.fleet.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class UsersTest {

    @Test
    void aHashVerifiesItsPasswordOnlyAndNeverContainsIt() {
        String stored = PasswordHash.hash("s3cret-pass".toCharArray());
        assertTrue(stored.startsWith("pbkdf2-sha256$600000$"), stored);
        assertFalse(stored.contains("s3cret-pass"));
        assertTrue(PasswordHash.verify("s3cret-pass".toCharArray(), stored));
        assertFalse(PasswordHash.verify("s3cret-pasS".toCharArray(), stored));
        assertFalse(PasswordHash.verify(new char[0], stored));
        assertNotEquals(stored, PasswordHash.hash("s3cret-pass".toCharArray()), "a fresh salt every time");
    }

    @Test
    void malformedOrWeakHashesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.verify("x".toCharArray(), "plain-text"));
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.checkFormat("md5$1$AAAA$BBBB"));
        assertThrows(
                IllegalArgumentException.class,
                () -> PasswordHash.checkFormat("pbkdf2-sha256$10$AAAAAAAAAAAAAAAAAAAAAA$" + "A".repeat(43)));
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.checkFormat("pbkdf2-sha256$120000$!!$AAAA"));
    }

    @Test
    void theUsersFileParsesRolesAndNamesTheBadLine() {
        String admin = Users.line("ada", Role.ADMIN, "pw".toCharArray());
        Users users = Users.parse(
                List.of("# operators", "", admin, Users.line("vic", Role.VIEWER, "pw2".toCharArray())), "users");
        assertEquals(Role.ADMIN, users.byName().get("ada").role());
        assertEquals(Set.of("viewer", "operator", "canary-promoter", "admin"), Role.ADMIN.grantedRoleNames());
        // the trainer's role: an operator that may move canary, never an admin
        assertEquals(Set.of("viewer", "operator", "canary-promoter"), Role.TRAINER.grantedRoleNames());
        assertEquals(Role.TRAINER, Role.parse("trainer"));
        assertEquals(Set.of("viewer"), users.byName().get("vic").role().grantedRoleNames());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Users.parse(List.of(admin, "bob:root:" + admin.split(":", 3)[2]), "f"));
        assertTrue(e.getMessage().startsWith("f line 2: unknown role 'root'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Users.parse(List.of(admin, admin), "f"));
        assertTrue(e.getMessage().contains("duplicate user ada"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Users.parse(List.of("eve:viewer:hunter2"), "f"));
        assertTrue(e.getMessage().startsWith("f line 1: not a pbkdf2-sha256"), e.getMessage());
    }

    @Test
    void credentialsNeverPrintThePassword() {
        Credentials c = new Credentials("ada", "pw");
        assertEquals("Basic YWRhOnB3", c.authorizationHeader());
        assertFalse(c.toString().contains("pw"));
    }
}
