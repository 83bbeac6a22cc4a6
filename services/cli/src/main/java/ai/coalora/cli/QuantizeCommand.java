package ai.coalora.cli;

import ai.coalora.engine.PretrainedModel;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.quant.BudgetAllocator.Allocation;
import ai.coalora.engine.quant.ModelQuantConfig;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Budgeted allocation: pick one quantization option per matrix that minimises the importance-"
                + "weighted quantization error under an average-bits budget (multiple-choice knapsack with a stated "
                + "optimality gap). Prints the configuration in the JSON form every command accepts as --config.")
final class QuantizeCommand implements Callable<Integer> {

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    QuantOptions quantOptions;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the configuration to FILE.")
    Path out;

    @Option(names = "--summary", description = "Print a short per-block summary instead of the full configuration.")
    boolean summary;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (quantOptions.fromFile()) throw new IllegalArgumentException("quantize takes --budget, not --config");
        TaskData task = taskOptions.load();
        Allocation a;
        try (PretrainedModel model = PretrainedModel.miniLm(taskOptions.maxLength(task))) {
            a = quantOptions.plan(model, task, new ProgressBar());
        }
        if (out != null) a.config().write(out);
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("budget", quantOptions.budget());
            o.put("averageBits", a.averageBits());
            o.put("error", a.error());
            o.put("lowerBound", a.lowerBound());
            o.put("optimalityGap", a.optimalityGap());
            o.put("config", JsonOption.MAPPER.readValue(a.config().toJson(), JsonNode.class));
            json.print(o);
        } else if (summary) {
            printSummary(a);
        } else {
            System.out.println(a.config().toJson());
        }
        return 0;
    }

    private void printSummary(Allocation a) {
        System.out.printf("budget %.3f -> average bits %.4f, weighted error %.5g (optimality gap <= %.3f%%)%n",
                quantOptions.budget(), a.averageBits(), a.error(), 100 * a.optimalityGap());
        Map<Integer, StringBuilder> rows = new TreeMap<>();
        for (ModelQuantConfig.Entry e : a.config().matrices()) {
            LinearId id = LinearId.parse(e.matrix().name());
            rows.computeIfAbsent(id.block(), k -> new StringBuilder())
                    .append(String.format(" %s=%.2f", id.role().name().toLowerCase(), e.config().bitsPerWeight()));
        }
        rows.forEach((block, row) -> System.out.println("block " + block + ":" + row));
    }
}
