package ai.coalora.cli;

import picocli.CommandLine.Command;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks. Each prints ratios against a baseline measured in the same process.",
        subcommands = {
            BenchThroughputCommand.class,
            BenchPaperCommand.class,
            BenchFleetCommand.class,
            BenchFaultsCommand.class,
            BenchScaleCommand.class
        })
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
