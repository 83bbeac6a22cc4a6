package ai.coalora.fleet.infra;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * The part of the registry's HTTP API that the generator and the trainer call, served from memory on 127.0.0.1 for
 * their handler tests: content-addressed blobs (HEAD, GET, PUT checked against the address), model versions (GET, and
 * POST registering uploaded files, named as the registry names them: sha256 over the sorted "name sha256" lines) and
 * aliases (PUT, GET). No database, no events, no credentials: what the services do with the registry, not what the
 * registry does with it. Every request is logged as "METHOD path" for the tests to count.
 */
public final class TestRegistry implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, ObjectNode> versions = new ConcurrentHashMap<>();
    private final Map<String, String> aliases = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();

    private TestRegistry(HttpServer server) {
        this.server = server;
    }

    public static TestRegistry start() throws IOException {
        TestRegistry r =
                new TestRegistry(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0));
        r.server.createContext("/api/", r::handle);
        r.server.setExecutor(r.executor);
        r.server.start();
        return r;
    }

    /** {@code http://127.0.0.1:PORT/}. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    /** A client as the services make one (no credentials). */
    public RegistryClient client() {
        return new RegistryClient(url(), null);
    }

    /** Uploads every file of {@code dir} and registers them as a version, as the trainer does; returns the version. */
    public String register(Path dir, String parentVersion) throws IOException {
        RegistryClient client = client();
        List<Map<String, String>> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                files.add(Map.of("name", f.getFileName().toString(), "sha256", client.putBlob(Files.readAllBytes(f))));
            }
        }
        ObjectNode body = Payloads.JSON.createObjectNode();
        body.set("files", Payloads.toJson(files));
        if (parentVersion != null) body.put("parentVersion", parentVersion);
        return client.sendJson("POST", "api/versions", body).get("modelVersion").asText();
    }

    /** The version as GET /api/versions/{id} answers it, or null. */
    public JsonNode version(String modelVersion) {
        return versions.get(modelVersion);
    }

    /** The version {@code alias} points at, or null. */
    public String alias(String alias) {
        return aliases.get(alias);
    }

    public boolean hasBlob(String sha256) {
        return blobs.containsKey(sha256);
    }

    /**
     * How many requests so far had this method (null: any) and a path starting with {@code pathPrefix} (e.g.
     * "/api/versions").
     */
    public long requests(String method, String pathPrefix) {
        return requests.stream()
                .filter(r -> {
                    int space = r.indexOf(' ');
                    return (method == null || r.substring(0, space).equals(method))
                            && r.substring(space + 1).startsWith(pathPrefix);
                })
                .count();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange x) throws IOException {
        try {
            String method = x.getRequestMethod(), path = x.getRequestURI().getPath();
            requests.add(method + " " + path);
            String[] parts = path.substring("/api/".length()).split("/");
            byte[] body = x.getRequestBody().readAllBytes();
            if (parts.length == 2 && parts[0].equals("blobs")) {
                blob(x, method, parts[1], body);
            } else if (parts.length == 1 && parts[0].equals("versions") && method.equals("POST")) {
                register(x, Payloads.JSON.readTree(body));
            } else if (parts.length == 2 && parts[0].equals("versions") && method.equals("GET")) {
                JsonNode v = versions.get(parts[1]);
                if (v == null) error(x, 404, "no model version " + parts[1]);
                else json(x, 200, v);
            } else if (parts.length == 2 && parts[0].equals("aliases")) {
                alias(x, method, parts[1], body);
            } else {
                error(x, 404, "not served here: " + method + " " + path);
            }
        } catch (RuntimeException | IOException e) {
            try {
                error(x, 500, e.toString());
            } catch (IOException | RuntimeException alreadyAnswered) {
                // the client sees the broken answer
            }
        } finally {
            x.close();
        }
    }

    private void blob(HttpExchange x, String method, String sha, byte[] body) throws IOException {
        switch (method) {
            case "HEAD" -> send(x, blobs.containsKey(sha) ? 200 : 404, null);
            case "GET" -> {
                byte[] b = blobs.get(sha);
                if (b == null) error(x, 404, "no blob " + sha);
                else send(x, 200, b);
            }
            case "PUT" -> {
                if (!Sha256.of(body).equals(sha)) {
                    error(x, 400, "body does not hash to " + sha);
                } else {
                    blobs.put(sha, body);
                    send(x, 201, null);
                }
            }
            default -> error(x, 405, method);
        }
    }

    private void register(HttpExchange x, JsonNode r) throws IOException {
        List<String[]> files = new ArrayList<>();
        for (JsonNode f : r.path("files"))
            files.add(new String[] {f.path("name").asText(), f.path("sha256").asText()});
        if (files.isEmpty()) {
            error(x, 400, "files are required");
            return;
        }
        files.sort(Comparator.comparing((String[] f) -> f[0]));
        StringBuilder lines = new StringBuilder();
        ArrayNode refs = Payloads.JSON.createArrayNode();
        for (String[] f : files) {
            byte[] b = blobs.get(f[1]);
            if (b == null) {
                error(x, 400, "files: no blob " + f[1]);
                return;
            }
            lines.append(f[0]).append(' ').append(f[1]).append('\n');
            refs.addObject().put("name", f[0]).put("sha256", f[1]).put("bytes", b.length);
        }
        String parent = r.hasNonNull("parentVersion") ? r.get("parentVersion").asText() : null;
        if (parent != null && !versions.containsKey(parent)) {
            error(x, 400, "parentVersion " + parent + " is not registered");
            return;
        }
        String id = Sha256.of(lines.toString().getBytes(StandardCharsets.UTF_8));
        ObjectNode v = Payloads.JSON.createObjectNode().put("modelVersion", id).put("parentVersion", parent);
        v.set("files", refs);
        v.set("lineage", r.path("lineage").isObject() ? r.get("lineage") : Payloads.JSON.createObjectNode());
        ObjectNode before = versions.putIfAbsent(id, v);
        json(x, before == null ? 201 : 200, before == null ? v : before);
    }

    private void alias(HttpExchange x, String method, String alias, byte[] body) throws IOException {
        if (method.equals("GET")) {
            String v = aliases.get(alias);
            if (v == null) error(x, 404, "no alias " + alias);
            else
                json(
                        x,
                        200,
                        Payloads.JSON.createObjectNode().put("alias", alias).put("modelVersion", v));
        } else if (method.equals("PUT")) {
            String v = Payloads.JSON.readTree(body).path("modelVersion").asText(null);
            if (v == null || !versions.containsKey(v)) {
                error(x, 404, "model version " + v + " is not registered");
                return;
            }
            aliases.put(alias, v);
            json(x, 200, Payloads.JSON.createObjectNode().put("alias", alias).put("modelVersion", v));
        } else {
            error(x, 405, method);
        }
    }

    private static void json(HttpExchange x, int status, JsonNode body) throws IOException {
        x.getResponseHeaders().set("Content-Type", "application/json");
        send(x, status, Payloads.JSON.writeValueAsBytes(body));
    }

    private static void error(HttpExchange x, int status, String message) throws IOException {
        json(x, status, Payloads.JSON.createObjectNode().put("error", message));
    }

    private static void send(HttpExchange x, int status, byte[] body) throws IOException {
        boolean empty = body == null || body.length == 0 || x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, empty ? -1 : body.length);
        if (!empty) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
