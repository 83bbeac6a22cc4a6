package ai.coalora.fleet.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every reason a device refuses a package manifest, and the one way it accepts one: signed by an online key the pinned
 * root vouches for, unexpired, for this device, with a sequence number above the last applied, naming exactly the
 * files received.
 */
class PackageManifestTest {
    static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
    static final KeyPair ROOT = Ed25519.generate(), ONLINE = Ed25519.generate();
    static final SigningKey DELEGATION =
            SigningKey.delegate(ROOT.getPrivate(), ONLINE.getPublic(), NOW.plus(Duration.ofDays(90)));
    static final List<PackageManifest.File> FILES = List.of(
            new PackageManifest.File("adapter-weights", "adapter_model.safetensors", "a".repeat(64), 1000),
            new PackageManifest.File("base-packed", "base.packed", "b".repeat(64), 5000));

    static PackageManifest manifest(long sequence, Instant expires) {
        return new PackageManifest("v".repeat(64), "c".repeat(64), List.of("dev-1", "dev-2"), FILES, sequence, expires);
    }

    static PackageManifest.Signed signed(long sequence) {
        return manifest(sequence, NOW.plus(Duration.ofDays(7))).sign(ONLINE.getPrivate(), DELEGATION);
    }

    static String refusal(PackageManifest.Signed s, String device, long lastApplied) {
        return assertThrows(
                        ManifestRefused.class,
                        () -> PackageManifest.verify(s, ROOT.getPublic(), device, lastApplied, NOW))
                .getMessage();
    }

    @Test
    void aManifestSignedThroughTheRootsDelegationIsAcceptedAndItsFilesChecked() throws Exception {
        PackageManifest m = PackageManifest.verify(signed(5), ROOT.getPublic(), "dev-2", 4, NOW);
        assertEquals(5, m.sequence());
        m.checkFiles(FILES);
        String files = assertThrows(
                        ManifestRefused.class,
                        () -> m.checkFiles(List.of(
                                new PackageManifest.File(
                                        "adapter-weights", "adapter_model.safetensors", "a".repeat(64), 1000),
                                new PackageManifest.File("base-packed", "base.packed", "b".repeat(64), 4999),
                                new PackageManifest.File("extra", "evil.so", "e".repeat(64), 1))))
                .getMessage();
        assertTrue(files.contains("base.packed has 4999 bytes, not 5000"), files);
        assertTrue(files.contains("evil.so is not in the manifest"), files);
        String swapped = assertThrows(
                        ManifestRefused.class,
                        () -> m.checkFiles(List.of(
                                FILES.get(0),
                                new PackageManifest.File("base-packed", "base.packed", "d".repeat(64), 5000))))
                .getMessage();
        assertTrue(swapped.contains("base.packed has sha256 " + "d".repeat(64)), swapped);
    }

    @Test
    void aRotatedOnlineKeyIsAcceptedWithoutReEnrolment() throws Exception {
        KeyPair next = Ed25519.generate();
        SigningKey rotated = SigningKey.delegate(ROOT.getPrivate(), next.getPublic(), NOW.plus(Duration.ofDays(90)));
        PackageManifest.Signed s = manifest(9, NOW.plus(Duration.ofDays(1))).sign(next.getPrivate(), rotated);
        assertEquals(
                9, PackageManifest.verify(s, ROOT.getPublic(), "dev-1", 5, NOW).sequence());
    }

    @Test
    void unsignedOrForeignSignaturesAreRefused() {
        PackageManifest m = manifest(5, NOW.plus(Duration.ofDays(7)));
        assertEquals("unsigned manifest", refusal(new PackageManifest.Signed(m, null, DELEGATION), "dev-1", 0));
        assertEquals("unsigned manifest", refusal(new PackageManifest.Signed(m, "AAAA", null), "dev-1", 0));

        // signed by a key nobody delegated, presented with the real delegation
        KeyPair stranger = Ed25519.generate();
        assertTrue(
                refusal(m.sign(stranger.getPrivate(), DELEGATION), "dev-1", 0).contains("does not verify"));

        // a key delegated by another root
        KeyPair otherRoot = Ed25519.generate();
        SigningKey forged =
                SigningKey.delegate(otherRoot.getPrivate(), stranger.getPublic(), NOW.plus(Duration.ofDays(9)));
        assertTrue(refusal(m.sign(stranger.getPrivate(), forged), "dev-1", 0)
                .contains("not vouched for by the pinned root"));

        // the real delegation's key swapped for the attacker's: the root's signature no longer covers it
        SigningKey swapped =
                new SigningKey(Ed25519.encode(stranger.getPublic()), DELEGATION.expires(), DELEGATION.rootSignature());
        assertTrue(refusal(m.sign(stranger.getPrivate(), swapped), "dev-1", 0)
                .contains("not vouched for by the pinned root"));
    }

    @Test
    void anAlteredManifestNoLongerVerifies() {
        PackageManifest.Signed s = signed(5);
        PackageManifest m = s.manifest();
        List<PackageManifest.File> otherFiles =
                List.of(FILES.get(0), new PackageManifest.File("base-packed", "base.packed", "f".repeat(64), 5000));
        for (PackageManifest altered : List.of(
                new PackageManifest(m.modelVersion(), m.configId(), m.devices(), otherFiles, m.sequence(), m.expires()),
                new PackageManifest(
                        m.modelVersion(),
                        m.configId(),
                        List.of("dev-1", "dev-2", "dev-3"),
                        m.files(),
                        m.sequence(),
                        m.expires()),
                new PackageManifest(m.modelVersion(), m.configId(), m.devices(), m.files(), 99, m.expires()),
                new PackageManifest(
                        m.modelVersion(),
                        m.configId(),
                        m.devices(),
                        m.files(),
                        m.sequence(),
                        m.expires().plusSeconds(86400)),
                new PackageManifest("w".repeat(64), m.configId(), m.devices(), m.files(), m.sequence(), m.expires()))) {
            String why = refusal(new PackageManifest.Signed(altered, s.signature(), s.signingKey()), "dev-1", 0);
            assertTrue(why.contains("does not verify"), why);
        }
    }

    @Test
    void expiredOtherDevicesAndOldSequencesAreRefused() {
        assertTrue(refusal(manifest(5, NOW.minusSeconds(1)).sign(ONLINE.getPrivate(), DELEGATION), "dev-1", 0)
                .startsWith("the manifest expired"));
        SigningKey stale = SigningKey.delegate(ROOT.getPrivate(), ONLINE.getPublic(), NOW.minusSeconds(60));
        assertTrue(refusal(manifest(5, NOW.plusSeconds(60)).sign(ONLINE.getPrivate(), stale), "dev-1", 0)
                .startsWith("the signing key expired"));
        assertEquals("the manifest is not for device dev-9", refusal(signed(5), "dev-9", 0));
        assertTrue(refusal(signed(5), "dev-1", 5).contains("replayed or older"), "the same sequence again");
        assertTrue(refusal(signed(5), "dev-1", 7).contains("sequence 5 is not above 7"));
    }

    @Test
    void fieldsThatCouldBeReadTwoWaysAreRefusedWhenMade() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new PackageManifest("v".repeat(64), "c1", List.of("dev 1"), FILES, 1, NOW));
        assertThrows(
                IllegalArgumentException.class,
                () -> new PackageManifest("v".repeat(64), "c1\nfile x", List.of("dev-1"), FILES, 1, NOW));
        assertThrows(
                IllegalArgumentException.class,
                () -> new PackageManifest(
                        "v".repeat(64),
                        "c1",
                        List.of("dev-1"),
                        List.of(new PackageManifest.File("r", "n", "not-a-sha", 1)),
                        1,
                        NOW));
        assertThrows(
                IllegalArgumentException.class,
                () -> new PackageManifest("v".repeat(64), "c1", List.of("dev-1"), FILES, 0, NOW));
    }
}
