package ai.coalora.fleet.registry;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.messaging.Failures;
import ai.coalora.fleet.security.Credentials;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The registry's HTTP API as the other services and the command line use it: content-addressed blobs
 * (every download is checked against its address) and model versions.
 */
public final class RegistryClient {
    private final URI base;
    private final Credentials credentials;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** @param credentials the account every request authenticates with (HTTP Basic); null sends none */
    public RegistryClient(String baseUrl, Credentials credentials) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
        this.credentials = credentials;
    }

    /** A client for a service configured with a registry account; a blank user sends no credentials. */
    public static RegistryClient of(String baseUrl, String user, String password) {
        return new RegistryClient(
                baseUrl,
                user == null || user.isBlank() ? null : new Credentials(user, password == null ? "" : password));
    }

    public String baseUrl() {
        return base.toString();
    }

    /** Where a blob is fetched from. */
    public String blobUrl(String sha256) {
        return base.resolve("api/blobs/" + sha256).toString();
    }

    public boolean hasBlob(String sha256) throws IOException {
        HttpResponse<Void> r = send(
                HttpRequest.newBuilder(URI.create(blobUrl(sha256))).method("HEAD", HttpRequest.BodyPublishers.noBody()),
                HttpResponse.BodyHandlers.discarding());
        return r.statusCode() == 200;
    }

    /** Stores bytes under their sha256 (skipped if the registry has them); returns the address. */
    public String putBlob(byte[] bytes) throws IOException {
        String sha = Sha256.of(bytes);
        if (hasBlob(sha)) return sha;
        HttpResponse<String> r = send(
                HttpRequest.newBuilder(URI.create(blobUrl(sha)))
                        .header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2)
            throw Failures.Refused.ofStatus(
                    r.statusCode(), "registry refused blob " + sha + ": HTTP " + r.statusCode() + " " + r.body());
        return sha;
    }

    /** Downloads a blob and checks it is what its address says. */
    public byte[] getBlob(String sha256) throws IOException {
        HttpResponse<byte[]> r = send(
                HttpRequest.newBuilder(URI.create(blobUrl(sha256))).GET(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200)
            throw Failures.Refused.ofStatus(r.statusCode(), "blob " + sha256 + ": HTTP " + r.statusCode());
        String actual = Sha256.of(r.body());
        if (!actual.equals(sha256))
            throw new Failures.Refused(0, "blob " + sha256 + " arrived with sha256 " + actual + ": refused");
        return r.body();
    }

    public JsonNode getJson(String path) throws IOException {
        HttpResponse<String> r = send(
                HttpRequest.newBuilder(base.resolve(path))
                        .header("Accept", "application/json")
                        .GET(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200)
            throw Failures.Refused.ofStatus(
                    r.statusCode(), "GET " + path + ": HTTP " + r.statusCode() + " " + r.body());
        return Payloads.JSON.readTree(r.body());
    }

    /** The JSON at {@code path}, or null if the registry answers 404. */
    public JsonNode getJsonOrNull(String path) throws IOException {
        HttpResponse<String> r = send(
                HttpRequest.newBuilder(base.resolve(path))
                        .header("Accept", "application/json")
                        .GET(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 404) return null;
        if (r.statusCode() != 200)
            throw Failures.Refused.ofStatus(
                    r.statusCode(), "GET " + path + ": HTTP " + r.statusCode() + " " + r.body());
        return Payloads.JSON.readTree(r.body());
    }

    /**
     * Copies a model version's files into {@code dir} (each checked against its sha256; files already there
     * with the right content are kept) and returns the version's JSON. A version the registry does not know
     * is a {@link java.io.FileNotFoundException}.
     */
    public JsonNode downloadVersion(String modelVersion, Path dir) throws IOException {
        JsonNode info = getJsonOrNull("api/versions/" + modelVersion);
        if (info == null) throw new FileNotFoundException("model version " + modelVersion + " is not registered");
        Files.createDirectories(dir);
        for (JsonNode f : info.get("files")) {
            String name = f.get("name").asText(), sha = f.get("sha256").asText();
            Path file = dir.resolve(name).normalize();
            if (!dir.equals(file.getParent()))
                throw new Failures.Refused(0, "bad file name in version " + modelVersion + ": " + name);
            if (Files.exists(file) && Sha256.of(file).equals(sha)) continue;
            Path tmp = Files.createTempFile(dir, name, ".part");
            Files.write(tmp, getBlob(sha)); // getBlob checked the sha256
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return info;
    }

    /**
     * Enrols devices at the gateway (operator): each gets its own token, returned here and stored nowhere else;
     * {@code replace} issues new tokens to devices that have one (revoking the old). All or none.
     */
    public Map<String, String> enrol(Collection<String> deviceIds, boolean replace) throws IOException {
        JsonNode answer =
                sendJson("POST", "api/devices/enrolments", Map.of("deviceIds", deviceIds, "replace", replace));
        Map<String, String> tokens = new LinkedHashMap<>();
        for (JsonNode c : answer.path("credentials"))
            tokens.put(c.path("deviceId").asText(), c.path("token").asText());
        if (tokens.size() != deviceIds.size())
            throw new Failures.Refused(
                    0, "the registry issued " + tokens.size() + " credentials for " + deviceIds.size() + " devices");
        return tokens;
    }

    /** Revokes a device's gateway credential (operator). */
    public void revoke(String deviceId) throws IOException {
        HttpResponse<String> r = send(
                HttpRequest.newBuilder(base.resolve("api/devices/" + deviceId + "/credentials"))
                        .DELETE(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2)
            throw Failures.Refused.ofStatus(
                    r.statusCode(), "revoke " + deviceId + ": HTTP " + r.statusCode() + " " + r.body());
    }

    /** POST or PUT a JSON body; returns the JSON answer, or throws with the registry's error. */
    public JsonNode sendJson(String method, String path, Object body) throws IOException {
        HttpResponse<String> r = send(
                HttpRequest.newBuilder(base.resolve(path))
                        .header("Content-Type", "application/json")
                        .header("Accept", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofByteArray(Payloads.JSON.writeValueAsBytes(body))),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2)
            throw Failures.Refused.ofStatus(
                    r.statusCode(), method + " " + path + ": HTTP " + r.statusCode() + " " + r.body());
        return r.body().isEmpty() ? null : Payloads.JSON.readTree(r.body());
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder request, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        try {
            if (credentials != null) request.header("Authorization", credentials.authorizationHeader());
            return http.send(request.timeout(Duration.ofMinutes(2)).build(), handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
