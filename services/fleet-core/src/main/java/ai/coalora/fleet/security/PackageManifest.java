package ai.coalora.fleet.security;

import ai.coalora.common.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What a device may install, as the fleet signs it: the model version and configuration, the devices it is for,
 * every file with its sha256 and size, a sequence number that only grows (a device refuses one not above what it
 * applied last, so an older manifest cannot be replayed; a legitimate revert is a new manifest with a higher number)
 * and an expiry. The signature covers {@link #canonical()}, a line-per-field text with no room for ambiguity, not
 * a JSON serialisation.
 *
 * @param modelVersion the registry's content address of the version
 * @param configId     the configuration's id
 * @param devices      the devices it is for
 * @param files        every file of the package
 * @param sequence     greater than every manifest signed before it
 * @param expires      after this no device installs it
 */
public record PackageManifest(
        String modelVersion, String configId, List<String> devices, List<File> files, long sequence, Instant expires) {
    static final String HEADER = "coalora-package-manifest/v1";
    /** Ids, names and hashes: printable, no spaces, so a line cannot be read two ways. */
    private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]{1,512}");

    /** One file: its role in the package, its name, sha256 (lowercase hex) and size in bytes. */
    public record File(String role, String name, String sha256, long bytes) {}

    public PackageManifest {
        devices = List.copyOf(devices);
        files = List.copyOf(files);
        token("model version", modelVersion);
        token("configuration id", configId);
        if (devices.isEmpty()) throw new IllegalArgumentException("a manifest names at least one device");
        for (String d : devices) token("device id", d);
        if (files.isEmpty()) throw new IllegalArgumentException("a manifest lists at least one file");
        for (File f : files) {
            token("file role", f.role());
            token("file name", f.name());
            if (!Sha256.isValid(f.sha256())) {
                throw new IllegalArgumentException("file " + f.name() + ": not a sha256: " + f.sha256());
            }
            if (f.bytes() < 0) throw new IllegalArgumentException("file " + f.name() + ": negative size");
        }
        if (sequence < 1) throw new IllegalArgumentException("sequence numbers start at 1");
        if (expires == null) throw new IllegalArgumentException("a manifest expires");
    }

    private static void token(String what, String value) {
        if (value == null || !TOKEN.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must be 1-512 printable characters without spaces: " + value);
        }
    }

    /** The exact bytes that are signed: a header, then one line per field, devices and files in the given order. */
    public byte[] canonical() {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        b.append("version ").append(modelVersion).append('\n');
        b.append("config ").append(configId).append('\n');
        b.append("sequence ").append(sequence).append('\n');
        b.append("expires ").append(expires).append('\n');
        for (String d : devices) b.append("device ").append(d).append('\n');
        for (File f : files) {
            b.append("file ")
                    .append(f.role())
                    .append(' ')
                    .append(f.name())
                    .append(' ')
                    .append(f.sha256())
                    .append(' ')
                    .append(f.bytes())
                    .append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Signed with the online key {@code key}, which {@code delegation} shows the root vouches for. */
    public Signed sign(PrivateKey key, SigningKey delegation) {
        return new Signed(this, Base64.getEncoder().encodeToString(Ed25519.sign(key, canonical())), delegation);
    }

    /**
     * A manifest as it travels: with the online key's signature and the root's delegation of that key.
     *
     * @param signature  base64 Ed25519 signature over the manifest's {@link #canonical()} bytes
     * @param signingKey the key that signed, vouched for by the root
     */
    public record Signed(PackageManifest manifest, String signature, SigningKey signingKey) {}

    /**
     * What a device checks before installing, against the root key it pinned at enrolment. Refuses (with the reason) a
     * manifest that is unsigned or signed by a key the root does not vouch for, whose key or itself has expired, that
     * is not for this device, or whose sequence number is not above the last one the device applied.
     *
     * @param lastApplied the sequence number of the last manifest the device applied (0 for none)
     */
    public static PackageManifest verify(Signed signed, PublicKey root, String deviceId, long lastApplied, Instant now)
            throws ManifestRefused {
        if (signed == null || signed.manifest() == null) throw new ManifestRefused("no manifest");
        if (signed.signature() == null || signed.signingKey() == null) throw new ManifestRefused("unsigned manifest");
        PublicKey key = signed.signingKey().verifiedBy(root, now);
        PackageManifest m = signed.manifest();
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(signed.signature());
        } catch (IllegalArgumentException e) {
            throw new ManifestRefused("the manifest's signature is not base64");
        }
        if (!Ed25519.verify(key, m.canonical(), signature)) {
            throw new ManifestRefused(
                    "the manifest's signature does not verify: it was altered or signed by another key");
        }
        if (!now.isBefore(m.expires())) throw new ManifestRefused("the manifest expired at " + m.expires());
        if (!m.devices().contains(deviceId)) throw new ManifestRefused("the manifest is not for device " + deviceId);
        if (m.sequence() <= lastApplied) {
            throw new ManifestRefused("sequence " + m.sequence() + " is not above " + lastApplied
                    + ", the last one applied: a replayed or older manifest");
        }
        return m;
    }

    /**
     * Checks what was received against the manifest: the same files, each with its size and sha256. Returns nothing;
     * throws naming every difference.
     */
    public void checkFiles(List<File> received) throws ManifestRefused {
        List<String> problems = new ArrayList<>();
        for (File f : files) {
            File r = received.stream()
                    .filter(x -> x.name().equals(f.name()))
                    .findFirst()
                    .orElse(null);
            if (r == null) problems.add(f.name() + " missing");
            else if (r.bytes() != f.bytes()) problems.add(f.name() + " has " + r.bytes() + " bytes, not " + f.bytes());
            else if (!r.sha256().equals(f.sha256())) problems.add(f.name() + " has sha256 " + r.sha256());
        }
        for (File r : received) {
            if (files.stream().noneMatch(f -> f.name().equals(r.name())))
                problems.add(r.name() + " is not in the manifest");
        }
        if (!problems.isEmpty())
            throw new ManifestRefused("files differ from the manifest: " + String.join("; ", problems));
    }
}
