package ai.coalora.cli;

import ai.coalora.engine.CacheDir;
import ai.coalora.fleet.sim.FaultSuite;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The fault-injection suite: the fleet system under process, broker and database faults and hostile input. */
@Command(
        name = "faults",
        mixinStandardHelpOptions = true,
        description =
                "Runs a staged rollout of simulated devices on real Kafka and PostgreSQL and the four services as processes while it "
                        + "kills -9 and restarts each service, restarts the broker and the database, sends malformed and hostile events, "
                        + "writes to Kafka without credentials and as each service on topics it does not own, and replays valid events, then "
                        + "rolls back through a download mirror that tampers with files. Prints, per fault: devices lost, duplicate assignments, "
                        + "dead letters vs hostile records sent, tampered files rejected vs served, unauthorized writes refused vs tried, "
                        + "services ready. "
                        + "Exit code 1 when a goal is missed.")
final class BenchFaultsCommand implements Callable<Integer> {
    @Option(names = "--devices", defaultValue = "300", description = "Simulated devices (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--hostile-events",
            defaultValue = "10000",
            description = "Malformed and hostile records to send (default: ${DEFAULT-VALUE}).")
    int hostile;

    @Option(
            names = "--tamper-every",
            defaultValue = "3",
            description = "The mirror tampers with every n-th file it serves (default: ${DEFAULT-VALUE}).")
    int tamperEvery;

    @Option(
            names = "--seed",
            defaultValue = "17",
            description = "Seed of the fleet and of the hostile events (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--work-dir",
            description = "Where Kafka, PostgreSQL, blobs and logs live (default: a new directory in the cache).")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        if (devices < 10 || hostile < 0 || tamperEvery < 1)
            throw new IllegalArgumentException("--devices >= 10, --hostile-events >= 0, --tamper-every >= 1");
        Path work = workDir != null
                ? workDir
                : Files.createTempDirectory(
                        Files.createDirectories(CacheDir.root().resolve("faults")), "run-");
        System.out.println("fault-injection suite: " + devices + " devices, " + hostile
                + " hostile events; data and logs in " + work);
        FaultSuite.Report r =
                FaultSuite.run(work, new FaultSuite.Settings(devices, hostile, tamperEvery, seed), System.out::println);
        System.out.println();
        System.out.print(r.table());
        return r.goalsMet() ? 0 : 1;
    }
}
