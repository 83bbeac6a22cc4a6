package ai.coalora.cli;

import ai.coalora.engine.data.DataFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code coalora}: the engine's command line. Every command has --help; bad input exits non-zero. */
@Command(
        name = "coalora",
        mixinStandardHelpOptions = true,
        version = "coalora 0.1.0",
        description = "Configuration-aware LoRA for quantized models: quantize, fine-tune, evaluate, benchmark.",
        subcommands = {
            VerifyModelCommand.class,
            PretrainCommand.class,
            QuantizeCommand.class,
            FinetuneCommand.class,
            DemoCommand.class,
            EngineDemoCommand.class,
            AgentsCommand.class,
            HashPasswordCommand.class,
            KeysCommand.class,
            BenchCommand.class,
            TrainCommand.class,
            EvalCommand.class,
            AdapterCommand.class,
            GgufCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    /** Exit code for input the user can fix (bad file, bad option value, out-of-range budget). */
    static final int BAD_INPUT = 2;
    /** Exit code for a check that ran and failed (e.g. verify-model above tolerance). */
    static final int CHECK_FAILED = 1;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::handle);
        return cl;
    }

    /** Turns the engine's exceptions for bad input into one clear line and exit code 2; bugs keep their trace. */
    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        if (cause instanceof NoSuchFileException nsf) {
            err.println("error: file not found: " + nsf.getFile());
            return BAD_INPUT;
        }
        if (cause instanceof DataFormatException
                || cause instanceof IllegalArgumentException
                || cause instanceof IllegalStateException
                || cause instanceof IOException) {
            err.println("error: " + cause.getMessage());
            return BAD_INPUT;
        }
        throw new RuntimeException(e);
    }
}
