package ai.coalora.fleet.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FleetKeysTest {
    @TempDir
    Path dir;

    @Test
    void aRotatedOnlineKeySignsManifestsTheSamePinnedRootAccepts() throws Exception {
        FleetKeys.init(dir, Duration.ofDays(90));
        assertEquals(
                "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(FleetKeys.ROOT))));
        assertEquals(
                "rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(FleetKeys.SIGNING))));
        var root = FleetKeys.readRootPublic(dir.resolve(FleetKeys.ROOT_PUBLIC));
        FleetKeys.Online first = FleetKeys.readOnline(dir.resolve(FleetKeys.SIGNING));
        PackageManifest m = new PackageManifest(
                "v1",
                "c1",
                List.of("dev-1"),
                List.of(new PackageManifest.File("r", "f", "a".repeat(64), 1)),
                1,
                Instant.now().plusSeconds(60));
        PackageManifest.verify(m.sign(first.key(), first.signingKey()), root, "dev-1", 0, Instant.now());

        FleetKeys.rotate(dir, Duration.ofDays(90));
        FleetKeys.Online second = FleetKeys.readOnline(dir.resolve(FleetKeys.SIGNING));
        assertNotEquals(first.signingKey().publicKey(), second.signingKey().publicKey());
        PackageManifest.verify(m.sign(second.key(), second.signingKey()), root, "dev-1", 0, Instant.now());

        assertThrows(
                IllegalArgumentException.class,
                () -> FleetKeys.init(dir, Duration.ofDays(1)),
                "never overwrites a root");
        Files.writeString(dir.resolve("broken.json"), "{\"privateKey\": \"xx\"}");
        assertThrows(java.io.IOException.class, () -> FleetKeys.readOnline(dir.resolve("broken.json")));
    }
}
