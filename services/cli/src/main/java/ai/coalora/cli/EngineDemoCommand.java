package ai.coalora.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** The engine end to end on embedded defaults (no services): model check, allocation, fine-tuning. */
@Command(
        name = "demo-engine",
        mixinStandardHelpOptions = true,
        description = "End-to-end engine run on embedded defaults: verify the pretrained model against ONNX Runtime, "
                + "quantize it at 3.0 average bits (best allocation), fine-tune LoRA on the sentiment task, evaluate, "
                + "and compare with fp32 + LoRA and the quantized model with no adapter.")
final class EngineDemoCommand implements Callable<Integer> {
    @Override
    public Integer call() throws IOException {
        System.out.println("== 1/3 pretrained model: our forward pass vs ONNX Runtime");
        int rc = Main.commandLine().execute("verify-model", "--sentences", "100");
        if (rc != 0) return rc;
        System.out.println("\n== 2/3 budgeted allocation at 3.0 average bits");
        Path config = Files.createTempFile("coalora-demo-", ".json");
        try {
            rc = Main.commandLine().execute("quantize", "--budget", "3.0", "--summary", "--out", config.toString());
            if (rc != 0) return rc;
            System.out.println("\n== 3/3 fine-tune and evaluate on that configuration (quantized + LoRA, references)");
            return Main.commandLine().execute("finetune", "--task", "sentiment", "--config", config.toString());
        } finally {
            Files.deleteIfExists(config);
        }
    }
}
