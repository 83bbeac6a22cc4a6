package ai.coalora.fleet.gateway;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.messaging.Failures;
import ai.coalora.fleet.security.DeviceToken;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The device gateway as a device uses it: every call carries the device's own token, and the gateway takes the device
 * id from that token alone. A device announces its capabilities, reports update status and evaluation telemetry,
 * waits for its package (a long poll: the answer comes as soon as the package changes, or empty after the wait), and
 * downloads the package's files. One client serves any number of devices (the simulator's agents share one).
 */
public final class GatewayClient {
    /** Where the gateway's device API lives under the registry's address. */
    public static final String PREFIX = "device/v1/";
    /** The source of the events the gateway publishes for devices. */
    public static final String EVENT_SOURCE = "/coalora/registry/gateway";
    /** The longest a package request is held open by the gateway. */
    public static final Duration MAX_WAIT = Duration.ofSeconds(30);

    /** A device's current package and the tag the gateway knows it by (sent back to wait for the next one). */
    public record Package(String etag, AdapterReady ready) {}

    private final URI base;
    private final HttpClient http;

    /** A gateway whose certificate the JVM's default trust store vouches for (or plain HTTP). */
    public GatewayClient(String baseUrl) {
        this(baseUrl, null);
    }

    /**
     * @param trusted the gateway's own certificate (or its CA's), pinned as the only one trusted for HTTPS; null: the
     *     JVM's default trust store
     */
    public GatewayClient(String baseUrl, X509Certificate trusted) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
        if (trusted != null) b.sslContext(trusting(trusted));
        this.http = b.build();
    }

    /** Reads a PEM certificate (the gateway's or its CA's). */
    public static X509Certificate certificate(Path pem) throws IOException {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (CertificateException e) {
            throw new IOException(pem + " is not a PEM certificate: " + e.getMessage(), e);
        }
    }

    private static SSLContext trusting(X509Certificate trusted) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            store.setCertificateEntry("gateway", trusted);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot trust the gateway's certificate: " + e.getMessage(), e);
        }
    }

    public String baseUrl() {
        return base.toString();
    }

    public void capabilities(String token, DeviceCapabilities capabilities) throws IOException {
        post(token, "capabilities", capabilities);
    }

    public void status(String token, DeviceStatus status) throws IOException {
        post(token, "status", status);
    }

    public void telemetry(String token, EvaluationTelemetry telemetry) throws IOException {
        post(token, "telemetry", telemetry);
    }

    /**
     * The device's package once it differs from {@code etag} (null: whatever it is now), waiting up to {@code wait}
     * for a change; empty when nothing changed in that time or nothing was generated for the device yet.
     */
    public CompletableFuture<Optional<Package>> nextPackage(String token, String etag, Duration wait) {
        HttpRequest.Builder b = request(token, PREFIX + "package?wait=" + wait.toSeconds())
                .timeout(wait.plusSeconds(30))
                .GET();
        if (etag != null) b.header("If-None-Match", "\"" + etag + "\"");
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()).thenCompose(r -> {
            if (r.statusCode() == 304 || r.statusCode() == 204)
                return CompletableFuture.completedFuture(Optional.empty());
            if (r.statusCode() != 200) // a refusal (4xx) or an outage, as the other calls fail
            return CompletableFuture.failedFuture(
                        Failures.Refused.ofStatus(r.statusCode(), "package: HTTP " + r.statusCode() + " " + r.body()));
            String tag = r.headers().firstValue("ETag").orElse("").replace("\"", "");
            try {
                return CompletableFuture.completedFuture(Optional.of(
                        new Package(tag, Payloads.read(Payloads.JSON.readTree(r.body()), AdapterReady.class))));
            } catch (IOException e) {
                return CompletableFuture.failedFuture(
                        new Failures.Refused(0, "package: not an adapter-ready document: " + e.getMessage()));
            }
        });
    }

    /** A file of the device's current package ({@code url} as the package gave it; relative to the gateway if so). */
    public byte[] download(String token, String url) throws IOException {
        HttpResponse<byte[]> r = send(
                HttpRequest.newBuilder(base.resolve(url))
                        .header("Authorization", DeviceToken.authorizationHeader(token))
                        .timeout(Duration.ofMinutes(1))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) throw Failures.Refused.ofStatus(r.statusCode(), url + ": HTTP " + r.statusCode());
        return r.body();
    }

    private void post(String token, String what, Object body) throws IOException {
        HttpResponse<String> r = send(
                request(token, PREFIX + what)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(Payloads.JSON.writeValueAsBytes(body)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2)
            throw Failures.Refused.ofStatus(
                    r.statusCode(), "POST " + what + ": HTTP " + r.statusCode() + " " + r.body());
    }

    private HttpRequest.Builder request(String token, String path) {
        return HttpRequest.newBuilder(base.resolve(path))
                .header("Authorization", DeviceToken.authorizationHeader(token))
                .header("Accept", "application/json")
                .timeout(Duration.ofMinutes(1));
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return http.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
