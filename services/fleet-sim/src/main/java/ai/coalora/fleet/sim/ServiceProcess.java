package ai.coalora.fleet.sim;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One service (a packaged Quarkus application) run as its own process, as it would be deployed. */
public final class ServiceProcess implements AutoCloseable {
    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final int port;
    private final Path log;
    private Process process;

    ServiceProcess(String name, Path jar, List<String> jvmArgs, Map<String, String> env, int port, Path log) {
        this(name, command(jar, jvmArgs), env, port, log);
    }

    private ServiceProcess(String name, List<String> command, Map<String, String> env, int port, Path log) {
        this.name = name;
        this.command = command;
        this.env = Map.copyOf(env);
        this.port = port;
        this.log = log;
    }

    private static List<String> command(Path jar, List<String> jvmArgs) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmArgs);
        command.add("-jar");
        command.add(jar.toString());
        return List.copyOf(command);
    }

    /**
     * Another instance of this service (not started): the same application and configuration, so the same consumer
     * group and database, answering on {@code httpPort}; {@code ports} (environment variable to port) are the ports
     * it listens on, its HTTP port's variable among them.
     */
    ServiceProcess replica(int httpPort, Map<String, Integer> ports, Path log) {
        Map<String, String> e = new LinkedHashMap<>(env);
        ports.forEach((variable, p) -> e.put(variable, Integer.toString(p)));
        return new ServiceProcess(name, command, e, httpPort, log);
    }

    public String name() {
        return name;
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    public Path log() {
        return log;
    }

    public synchronized ServiceProcess start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        return this;
    }

    /** Plain HTTP/1.1 with short bounds: a readiness check is one small request. */
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    /** Waits until the service's readiness check passes; fails with the end of its log if it dies first. */
    public void awaitReady(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive())
                throw new IOException(name + " exited with " + process.exitValue() + "; log tail:\n" + logTail(40));
            if (isReady()) return;
            Thread.sleep(250);
        }
        throw new IOException(name + " not ready after " + timeout.toSeconds() + " s; log tail:\n" + logTail(40));
    }

    /** Whether the service answers its readiness check (/q/health/ready) with 200 within 10 s now. */
    public boolean isReady() {
        try {
            return HTTP.sendAsync(
                                    HttpRequest.newBuilder(URI.create(url() + "/q/health/ready"))
                                            .timeout(Duration.ofSeconds(5))
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .get(10, TimeUnit.SECONDS)
                            .statusCode()
                    == 200;
        } catch (ExecutionException | TimeoutException notYet) {
            return false; // not listening yet, or busy
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** A clean stop (SIGTERM: the service finishes its batch and closes). */
    public synchronized void stop() throws InterruptedException {
        if (process == null) return;
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
    }

    /** A crash (SIGKILL): what a power cut does to the service. */
    public synchronized void kill() throws InterruptedException {
        if (process == null) return;
        process.destroyForcibly().waitFor();
    }

    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
