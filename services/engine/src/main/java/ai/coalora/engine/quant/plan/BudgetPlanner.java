package ai.coalora.engine.quant.plan;

import ai.coalora.common.Sha256;
import ai.coalora.engine.CacheDir;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.BertTokenizer;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.QuantizableModel;
import ai.coalora.engine.quant.BudgetAllocator;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantErrorTable;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.train.Progress;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Budgeted allocation for a model (encoder or decoder): the importance-weighted quantization error of every option of
 * every matrix (one {@link QuantErrorTable} per matrix), then the multiple-choice knapsack that picks
 * one option per matrix under an average-bits budget. The tables depend only on the weights, the
 * importance and the option set, so they are cached on disk under a hash of those.
 */
public final class BudgetPlanner {
    /** The budget range the method trains over; its initial training set is a grid on it. */
    public static final double GRID_LOW = 2.25, GRID_HIGH = 7.25;

    private final QuantizableModel model;
    private final Map<LinearId, float[]> importance;
    private final QuantizerKind kind;
    private final Progress progress;
    private List<QuantErrorTable> allOptions;
    private List<QuantErrorTable> integerOnly;

    private BudgetPlanner(
            QuantizableModel model, Map<LinearId, float[]> importance, QuantizerKind kind, Progress progress) {
        this.model = model;
        this.importance = importance;
        this.kind = kind;
        this.progress = progress;
    }

    /** Calibrates input importance on {@code texts} (see {@link Calibration}). */
    public static BudgetPlanner calibrate(
            BertEncoder encoder, BertTokenizer tokenizer, List<String> texts, QuantizerKind kind, Progress progress) {
        if (texts.isEmpty()) throw new IllegalArgumentException("calibration needs at least one text");
        return new BudgetPlanner(encoder, Calibration.inputImportance(encoder, tokenizer, texts, 32), kind, progress);
    }

    /** Calibrates a decoder's input importance on (at most 64 of) {@code windows}, e.g. its adaptation text. */
    public static BudgetPlanner calibrate(
            LlamaDecoder decoder, TokenWindows windows, QuantizerKind kind, Progress progress) {
        return of(decoder, Calibration.inputImportance(decoder, windows, 64), kind, progress);
    }

    /** A planner for any model, from input importance already measured on its calibration data ({@link Calibration}). */
    public static BudgetPlanner of(
            QuantizableModel model, Map<LinearId, float[]> importance, QuantizerKind kind, Progress progress) {
        for (LinearId id : model.linearIds()) {
            if (!importance.containsKey(id))
                throw new IllegalArgumentException("no input importance for " + id.weightName());
        }
        return new BudgetPlanner(model, importance, kind, progress);
    }

    /** Best allocation with average bits <= budget, over all 432 options or over the integer-only variant. */
    public BudgetAllocator.Allocation allocate(double budgetBits, boolean integerOnlyVariant) {
        return BudgetAllocator.allocate(tables(integerOnlyVariant), budgetBits);
    }

    /** {@link #allocate(double, boolean)} for each budget, in order, sharing the allocator's work between them. */
    public List<BudgetAllocator.Allocation> allocateEach(List<Double> budgetsBits, boolean integerOnlyVariant) {
        return BudgetAllocator.allocateEach(tables(integerOnlyVariant), budgetsBits);
    }

    /** The configurations of {@link #allocateEach}. */
    public List<ModelQuantConfig> configurations(List<Double> budgetsBits, boolean integerOnlyVariant) {
        return allocateEach(budgetsBits, integerOnlyVariant).stream()
                .map(BudgetAllocator.Allocation::config)
                .toList();
    }

    /**
     * Best allocation with average bits <= budget over the options whose weight bit-width is in
     * {@code weightBits} (a device's kernels), e.g. to cover a budget a group of devices has and the front lacks.
     */
    public BudgetAllocator.Allocation allocate(double budgetBits, Set<Integer> weightBits) {
        return BudgetAllocator.allocate(
                tables(false).stream().map(t -> t.restrictedTo(weightBits)).toList(), budgetBits);
    }

    /** The method's initial training set: the best allocation at each of n budgets evenly spaced over 2.25..7.25. */
    public List<BudgetAllocator.Allocation> initialGrid(int n, boolean integerOnlyVariant) {
        return allocateEach(BudgetAllocator.grid(GRID_LOW, GRID_HIGH, n), integerOnlyVariant);
    }

    /** {@link #initialGrid}'s configurations, each once (neighbouring budgets can share an allocation), in budget order. */
    public List<ModelQuantConfig> initialSet(int n) {
        return initialSet(GRID_LOW, GRID_HIGH, n);
    }

    /** The best allocation at each of n budgets evenly spaced over [low, high], each configuration once, in budget order. */
    public List<ModelQuantConfig> initialSet(double low, double high, int n) {
        return configurations(BudgetAllocator.grid(low, high, n), false).stream()
                .distinct()
                .toList();
    }

    /** [min, max] average bits reachable with the option set. */
    public double[] reachableRange(boolean integerOnlyVariant) {
        return BudgetAllocator.reachableRange(tables(integerOnlyVariant));
    }

    public synchronized List<QuantErrorTable> tables(boolean integerOnlyVariant) {
        if (integerOnlyVariant) {
            if (integerOnly == null)
                integerOnly = computeOrLoad(QuantConfig.WEIGHT_BITS.stream()
                        .map(QuantConfig::integerOnly)
                        .toList());
            return integerOnly;
        }
        if (allOptions == null) allOptions = computeOrLoad(QuantConfig.all());
        return allOptions;
    }

    private List<QuantErrorTable> computeOrLoad(List<QuantConfig> options) {
        List<LinearId> ids = model.linearIds();
        Path file = CacheDir.root().resolve("error-tables").resolve(key(ids, options) + ".bin");
        List<QuantErrorTable> cached = load(file, ids, options);
        if (cached != null) return cached;
        List<QuantErrorTable> tables = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            LinearId id = ids.get(i);
            int[] s = model.linearShape(id);
            tables.add(QuantErrorTable.compute(
                    new MatrixSpec(id.weightName(), s[0], s[1]),
                    model.linearWeight(id),
                    importance.get(id),
                    kind,
                    options));
            progress.update("quantization error tables", i + 1, ids.size());
        }
        save(file, tables);
        return tables;
    }

    private String key(List<LinearId> ids, List<QuantConfig> options) {
        Sha256 d = new Sha256().update(kind + "|" + options);
        for (LinearId id : ids) {
            d.update(id.weightName()).update(floats(model.linearWeight(id))).update(floats(importance.get(id)));
        }
        return d.hex().substring(0, 32); // the cache files are named by the first 32 hex digits
    }

    private static byte[] floats(float[] x) {
        ByteBuffer b = ByteBuffer.allocate(x.length * 4);
        b.asFloatBuffer().put(x);
        return b.array();
    }

    private List<QuantErrorTable> load(Path file, List<LinearId> ids, List<QuantConfig> options) {
        if (!Files.isRegularFile(file)) return null;
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            List<QuantErrorTable> tables = new ArrayList<>();
            for (LinearId id : ids) {
                double[] errors = new double[options.size()];
                for (int j = 0; j < errors.length; j++) errors[j] = in.readDouble();
                int[] s = model.linearShape(id);
                tables.add(new QuantErrorTable(new MatrixSpec(id.weightName(), s[0], s[1]), kind, options, errors));
            }
            if (in.read() != -1) return null; // wrong size: recompute
            return tables;
        } catch (IOException | IllegalArgumentException e) {
            return null; // unreadable cache entry: recompute and overwrite
        }
    }

    private static void save(Path file, List<QuantErrorTable> tables) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "tables", ".part");
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(tmp))) {
                for (QuantErrorTable t : tables) {
                    for (int j = 0; j < t.size(); j++) out.writeDouble(t.error(j));
                }
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
