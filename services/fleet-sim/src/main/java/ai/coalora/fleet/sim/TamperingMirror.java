package ai.coalora.fleet.sim;

import ai.coalora.fleet.gateway.GatewayClient;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A download mirror in front of the registry that can turn hostile: it forwards GET requests (with their
 * credentials) and, while tampering, flips one byte in every {@code every}-th blob it serves — what a
 * compromised mirror or a man in the middle does. It counts what it tampered, so a fault run can compare
 * tampered files served with the ones devices rejected.
 */
public final class TamperingMirror implements AutoCloseable {
    private final HttpServer server;
    private final URI upstream;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final AtomicLong served = new AtomicLong(),
            tampered = new AtomicLong(),
            blobsWhileTampering = new AtomicLong();
    private volatile int every; // 0: pass everything through

    public TamperingMirror(String upstreamBaseUrl) throws IOException {
        this.upstream = URI.create(upstreamBaseUrl.endsWith("/") ? upstreamBaseUrl : upstreamBaseUrl + "/");
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/", this::forward);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    public URI address() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    /** From now on, flip a byte in every {@code every}-th blob served; 0 stops tampering. */
    public void tamperEvery(int every) {
        this.every = every;
    }

    public long served() {
        return served.get();
    }

    public long tampered() {
        return tampered.get();
    }

    private void forward(HttpExchange x) throws IOException {
        try (x) {
            if (!x.getRequestMethod().equals("GET")) {
                x.sendResponseHeaders(405, -1);
                return;
            }
            String path = x.getRequestURI().getRawPath().replaceFirst("^/", "");
            String query = x.getRequestURI().getRawQuery();
            HttpRequest.Builder b = HttpRequest.newBuilder(upstream.resolve(path + (query == null ? "" : "?" + query)))
                    .timeout(Duration.ofMinutes(1));
            String auth = x.getRequestHeaders().getFirst("Authorization");
            if (auth != null) b.header("Authorization", auth);
            HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            byte[] body = r.body();
            int k = every;
            if (r.statusCode() == 200 && isBlob(path) && body.length > 0) {
                served.incrementAndGet();
                if (k > 0 && blobsWhileTampering.incrementAndGet() % k == 0) {
                    body = body.clone();
                    body[body.length / 2] ^= 0x5A;
                    tampered.incrementAndGet();
                }
            }
            x.sendResponseHeaders(r.statusCode(), body.length == 0 ? -1 : body.length);
            if (body.length > 0)
                try (OutputStream out = x.getResponseBody()) {
                    out.write(body);
                }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A file download: from the registry's blob API or from the device gateway. */
    private static boolean isBlob(String path) {
        return path.startsWith("api/blobs/") || path.startsWith(GatewayClient.PREFIX + "blobs/");
    }

    @Override
    public void close() {
        server.stop(0);
        ((ExecutorService) server.getExecutor()).shutdownNow();
    }
}
