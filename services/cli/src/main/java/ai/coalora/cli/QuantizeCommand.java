package ai.coalora.cli;

import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.BudgetAllocator;
import ai.coalora.engine.quant.BudgetAllocator.Allocation;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
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

    @Option(
            names = "--grid",
            paramLabel = "N",
            description = "Instead of one budget: the method's initial training set, the best allocation at each of N "
                    + "budgets evenly spaced over 2.25..7.25 bits (the paper uses 50).")
    Integer grid;

    @Option(names = "--out-dir", paramLabel = "DIR", description = "With --grid: write config-NN.json files into DIR.")
    Path outDir;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (quantOptions.fromFile()) throw new IllegalArgumentException("quantize takes --budget, not --config");
        TaskData task = taskOptions.load();
        if (grid != null) return runGrid(task);
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

    private int runGrid(TaskData task) throws Exception {
        if (grid < 2) throw new IllegalArgumentException("--grid needs N >= 2, got " + grid);
        List<Allocation> allocations;
        try (PretrainedModel model = PretrainedModel.miniLm(taskOptions.maxLength(task))) {
            allocations =
                    quantOptions.planner(model, task, new ProgressBar()).initialGrid(grid, quantOptions.integerOnly);
        }
        if (outDir != null) {
            Files.createDirectories(outDir);
            for (int i = 0; i < allocations.size(); i++) {
                allocations.get(i).config().write(outDir.resolve(String.format("config-%02d.json", i)));
            }
        }
        List<Double> budgets = BudgetAllocator.grid(BudgetPlanner.GRID_LOW, BudgetPlanner.GRID_HIGH, grid);
        if (json.json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < allocations.size(); i++) {
                Allocation a = allocations.get(i);
                rows.add(Map.of(
                        "budget",
                        budgets.get(i),
                        "averageBits",
                        a.averageBits(),
                        "error",
                        a.error(),
                        "optimalityGap",
                        a.optimalityGap()));
            }
            json.print(rows);
        } else {
            System.out.printf("%4s %8s %10s %12s %8s%n", "#", "budget", "avg bits", "error", "gap %");
            for (int i = 0; i < allocations.size(); i++) {
                Allocation a = allocations.get(i);
                System.out.printf(
                        "%4d %8.3f %10.4f %12.5g %8.3f%n",
                        i, budgets.get(i), a.averageBits(), a.error(), 100 * a.optimalityGap());
            }
        }
        return 0;
    }

    private void printSummary(Allocation a) {
        System.out.printf(
                "budget %.3f -> average bits %.4f, weighted error %.5g (optimality gap <= %.3f%%)%n",
                quantOptions.budget(), a.averageBits(), a.error(), 100 * a.optimalityGap());
        Map<Integer, StringBuilder> rows = new TreeMap<>();
        for (ModelQuantConfig.Entry e : a.config().matrices()) {
            LinearId id = LinearId.parse(e.matrix().name());
            rows.computeIfAbsent(id.block(), k -> new StringBuilder())
                    .append(String.format(
                            " %s=%.2f",
                            id.role().name().toLowerCase(), e.config().bitsPerWeight()));
        }
        rows.forEach((block, row) -> System.out.println("block " + block + ":" + row));
    }
}
