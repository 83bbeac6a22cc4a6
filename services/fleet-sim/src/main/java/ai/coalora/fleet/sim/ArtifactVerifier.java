package ai.coalora.fleet.sim;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.security.ManifestRefused;
import ai.coalora.fleet.security.PackageManifest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a device does before applying an adapter: checks the signed manifest against the pinned root key (and that it
 * names exactly the package's files), checks the package id against its file list and downloads every file from the
 * URL it was given, checking size and sha256. Files already verified are
 * not fetched again (a device's content-addressed cache).
 */
public final class ArtifactVerifier {
    /** The files a package for the Java runtime needs, and those a llama.cpp package needs. */
    static final Set<String>
            PACKED_ROLES = Set.of("adapter-config", "adapter-weights", "sidecar", "base-packed", "base-dense"),
            GGUF_ROLES = Set.of(LlamaCppPackage.MODEL_ROLE, LlamaCppPackage.ADAPTER_ROLE);

    private final HttpClient http = HttpClient.newHttpClient();
    private final Map<String, Long> verified = new ConcurrentHashMap<>();
    private final ai.coalora.fleet.security.Credentials credentials;
    private final PublicKey root;

    /**
     * @param credentials the account downloads authenticate with (a device's, role viewer)
     * @param root        the fleet's root public key, as a device pins it
     */
    public ArtifactVerifier(ai.coalora.fleet.security.Credentials credentials, PublicKey root) {
        this.credentials = credentials;
        this.root = root;
    }

    /** Throws naming the first problem; returns the bytes the package holds in total. */
    public long verify(AdapterReady ready) throws IOException, InterruptedException {
        try {
            PackageManifest.verify(ready.manifest(), root, ready.deviceId(), 0, Instant.now())
                    .checkFiles(ready.artifacts().stream()
                            .map(a -> new PackageManifest.File(a.role(), a.name(), a.sha256(), a.bytes()))
                            .toList());
        } catch (ManifestRefused e) {
            throw new IOException("package manifest refused: " + e.getMessage(), e);
        }
        StringBuilder lines = new StringBuilder();
        long total = 0;
        for (Artifact a : ready.artifacts())
            lines.append(a.role())
                    .append(' ')
                    .append(a.name())
                    .append(' ')
                    .append(a.sha256())
                    .append('\n');
        String packageSha = Sha256.of(lines.toString());
        if (!packageSha.equals(ready.packageSha256()))
            throw new IOException(
                    "package id " + ready.packageSha256() + " does not match its files (" + packageSha + ")");
        Set<String> roles = ConcurrentHashMap.newKeySet();
        for (Artifact a : ready.artifacts()) {
            roles.add(a.role());
            total += a.bytes();
            if (verified.containsKey(a.sha256())) continue;
            HttpResponse<byte[]> r = http.send(
                    HttpRequest.newBuilder(URI.create(a.url()))
                            .header("Authorization", credentials.authorizationHeader())
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200)
                throw new IOException(a.name() + ": HTTP " + r.statusCode() + " from " + a.url());
            check(a, r.body());
            verified.put(a.sha256(), a.bytes());
        }
        for (String needed : roles.contains(LlamaCppPackage.MODEL_ROLE) ? GGUF_ROLES : PACKED_ROLES) {
            if (!roles.contains(needed)) throw new IOException("package lacks its " + needed + " file");
        }
        return total;
    }

    /** A downloaded file is what its announcement says: its size and its sha256; else an IOException naming it. */
    public static void check(Artifact a, byte[] bytes) throws IOException {
        if (bytes.length != a.bytes())
            throw new IOException(a.name() + ": " + bytes.length + " bytes, announced " + a.bytes() + " (truncated)");
        String sha = Sha256.of(bytes);
        if (!sha.equals(a.sha256()))
            throw new IOException(a.name() + ": sha256 " + sha + " does not match the announced " + a.sha256());
    }

    public int filesVerified() {
        return verified.size();
    }
}
