package ai.coalora.engine.device;

import ai.coalora.engine.bundle.AdapterEmission;
import ai.coalora.engine.bundle.DevicePackage;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.io.PeftAdapter;
import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.BertTokenizer;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.model.TokenBatch;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.ClassifierHead;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * What a device runs: a classifier built from exactly the files of its package ({@link #FILES}), never from the
 * full-precision model. The quantizable matrices are the packed base's, dequantized; embeddings, biases and
 * LayerNorms come from the dense base; the LoRA adapter (already folded for this configuration) and the task head
 * from the adapter's files. Every file is checked against the others before anything is allocated, so a bad
 * download is an {@link IllegalArgumentException} naming the file and the problem, not a wrong answer.
 */
public final class DeviceModel implements AutoCloseable {
    /** The files of a package, all required. */
    public static final List<String> FILES = List.of(
            DevicePackage.PACKED,
            DevicePackage.DENSE,
            PeftAdapter.CONFIG_FILE,
            PeftAdapter.WEIGHTS_FILE,
            AdapterEmission.HEAD,
            AdapterEmission.CONFIG,
            AdapterEmission.SIDECAR);
    /** The one model packages are made for. */
    private static final BertConfig MODEL = BertConfig.MINILM_L6;
    /** Sentences per forward pass, as in {@link FineTuner#evaluate}. */
    private static final int BATCH = 64;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Accuracy on some examples and the wall time per example (tokenization included: the device does it too). */
    public record Evaluation(double accuracy, int examples, double msPerExample) {}

    /** What the sidecar says the package is. */
    private record Sidecar(String modelVersion, String configId, double averageBits, List<String> labels) {}

    private final NDManager manager;
    private final SentenceClassifier classifier;
    private final LoraAdapter adapter;
    private final Sidecar sidecar;
    private final ModelQuantConfig config;
    private final long memoryBytes;

    private DeviceModel(
            NDManager manager,
            SentenceClassifier classifier,
            LoraAdapter adapter,
            Sidecar sidecar,
            ModelQuantConfig config,
            long memoryBytes) {
        this.manager = manager;
        this.classifier = classifier;
        this.adapter = adapter;
        this.sidecar = sidecar;
        this.config = config;
        this.memoryBytes = memoryBytes;
    }

    /**
     * Builds the classifier from a package's files by name ({@link #FILES}); extra files are ignored.
     *
     * @throws IllegalArgumentException a file missing, corrupt, or inconsistent with the others or the model
     */
    public static DeviceModel load(Map<String, byte[]> files, NDManager parent) {
        List<String> missing = FILES.stream().filter(f -> files.get(f) == null).toList();
        if (!missing.isEmpty())
            throw new IllegalArgumentException("device package lacks " + String.join(", ", missing));

        Sidecar sidecar = parsed(AdapterEmission.SIDECAR, () -> sidecar(files.get(AdapterEmission.SIDECAR)));
        DevicePackage.Unpacked base =
                parsed(DevicePackage.PACKED, () -> DevicePackage.unpack(files.get(DevicePackage.PACKED)));
        ModelQuantConfig config = base.config();
        checkConfiguration(
                config,
                sidecar,
                parsed(
                        AdapterEmission.CONFIG,
                        () -> ModelQuantConfig.fromJson(
                                new String(files.get(AdapterEmission.CONFIG), StandardCharsets.UTF_8))));
        Map<String, OnnxWeights.Tensor> weights =
                parsed(DevicePackage.DENSE, () -> denseTensors(files.get(DevicePackage.DENSE)));
        for (ModelQuantConfig.Entry e : config.matrices()) {
            weights.put(
                    e.matrix().name(),
                    new OnnxWeights.Tensor(
                            new long[] {e.matrix().rows(), e.matrix().cols()},
                            base.matrices().get(e.matrix().name())));
        }
        PeftAdapter peft = parsed(
                "PEFT adapter",
                () -> PeftAdapter.fromBytes(files.get(PeftAdapter.CONFIG_FILE), files.get(PeftAdapter.WEIGHTS_FILE)));
        checkAdapter(peft, sidecar);
        Safetensors.Contents head = parsed(
                AdapterEmission.HEAD,
                () -> Safetensors.fromBytes(files.get(AdapterEmission.HEAD), AdapterEmission.HEAD));
        checkHead(head, sidecar);

        long memoryBytes = (long) files.get(DevicePackage.PACKED).length
                + files.get(DevicePackage.DENSE).length
                + files.get(PeftAdapter.WEIGHTS_FILE).length
                + files.get(AdapterEmission.HEAD).length;
        // everything is checked: from here on only allocation can fail
        NDManager manager = parent.newSubManager();
        try {
            BertEncoder encoder = BertEncoder.fromTensors(MODEL, weights, manager);
            LoraAdapter adapter = loraAdapter(peft, manager);
            int labels = sidecar.labels().size();
            ClassifierHead classifierHead = new ClassifierHead(
                    MODEL.hiddenSize(),
                    labels,
                    head.tensors().get("weight").floats(),
                    head.tensors().get("bias").floats(),
                    manager);
            return new DeviceModel(
                    manager, new SentenceClassifier(encoder, classifierHead), adapter, sidecar, config, memoryBytes);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Accuracy on labelled examples, batched in length order (little padding), each batch in its own scope.
     *
     * @param maxLength tokens per sentence at most (the tokenizer's own limit applies too; the shorter wins)
     */
    public Evaluation evaluate(BertTokenizer tokenizer, List<Example> examples, int maxLength) {
        for (Example e : examples) {
            if (e.label() >= labels().size()) {
                throw new IllegalArgumentException("example label " + e.label() + " is not one of the model's "
                        + labels().size() + " labels " + labels());
            }
        }
        long start = System.nanoTime();
        EncodedExamples data = new EncodedExamples(
                encode(tokenizer, examples.stream().map(Example::text).toList(), maxLength),
                examples.stream().mapToInt(Example::label).toArray());
        double accuracy = FineTuner.accuracy(classifier, base(), adapter, data, null);
        double millis = (System.nanoTime() - start) / 1e6;
        return new Evaluation(accuracy, examples.size(), examples.isEmpty() ? Double.NaN : millis / examples.size());
    }

    /** Logits (one value per label, in {@link #labels()} order) of each text, in the order given. */
    public float[][] logits(BertTokenizer tokenizer, List<String> texts, int maxLength) {
        EncodedExamples data = new EncodedExamples(encode(tokenizer, texts, maxLength), new int[texts.size()]);
        int[] order = data.lengthOrder();
        int labels = labels().size();
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += BATCH) {
            int to = Math.min(texts.size(), from + BATCH);
            try (NDManager scope = classifier.encoder().manager().newSubManager()) {
                float[] batch = classifier
                        .logits(TokenBatch.of(data.ids(order, from, to), scope), base(), adapter)
                        .toFloatArray();
                for (int i = from; i < to; i++)
                    out[order[i]] = Arrays.copyOfRange(batch, (i - from) * labels, (i - from + 1) * labels);
            }
        }
        return out;
    }

    /** Bytes downloaded to run this model: packed base, dense base, adapter weights and head files. */
    public long memoryBytes() {
        return memoryBytes;
    }

    public List<String> labels() {
        return sidecar.labels();
    }

    public String modelVersion() {
        return sidecar.modelVersion();
    }

    public String configId() {
        return sidecar.configId();
    }

    public double averageBits() {
        return sidecar.averageBits();
    }

    /** The quantization configuration the base weights were packed with. */
    public ModelQuantConfig config() {
        return config;
    }

    @Override
    public void close() {
        manager.close();
    }

    /** The encoder of a device holds the dequantized packed matrices as its only base weights. */
    private BaseWeights base() {
        return classifier.encoder().fullPrecision();
    }

    /**
     * Token ids, at most {@code maxLength} per text: a longer sequence keeps its first tokens and its final [SEP],
     * as the tokenizer's own truncation does.
     */
    private static List<long[]> encode(BertTokenizer tokenizer, List<String> texts, int maxLength) {
        if (maxLength < 2 || maxLength > MODEL.maxPositions()) {
            throw new IllegalArgumentException(
                    "maxLength must be in 2.." + MODEL.maxPositions() + ", got " + maxLength);
        }
        List<long[]> ids = new ArrayList<>(texts.size());
        for (long[] s : tokenizer.encodeAll(texts)) {
            if (s.length <= maxLength) {
                ids.add(s);
                continue;
            }
            long[] cut = Arrays.copyOf(s, maxLength);
            cut[maxLength - 1] = s[s.length - 1];
            ids.add(cut);
        }
        return ids;
    }

    // --- reading and checking the files ----------------------------------------------------------------------

    /**
     * Parses one file, any failure an IllegalArgumentException naming it. Downloaded bytes are untrusted, so a
     * decoder's other runtime exceptions (a wrong dtype, say) are a bad file too, not a crash.
     */
    private static <T> T parsed(String file, Supplier<T> parse) {
        try {
            return parse.get();
        } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            boolean named = FILES.stream().anyMatch(message::startsWith) || message.startsWith(file);
            throw new IllegalArgumentException(named ? message : file + ": " + message, e);
        }
    }

    private static Sidecar sidecar(byte[] bytes) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("not a JSON object");
        if (!AdapterEmission.SIDECAR_FORMAT.equals(root.path("format").asText(null))) {
            throw new IllegalArgumentException(
                    "format is " + root.get("format") + ", expected \"" + AdapterEmission.SIDECAR_FORMAT + "\"");
        }
        JsonNode bits = root.path("averageBits"), labels = root.path("labels");
        if (!bits.isNumber()) throw new IllegalArgumentException("averageBits is " + bits + ", not a number");
        List<String> names = new ArrayList<>();
        for (JsonNode label : labels) {
            if (!label.isTextual()) throw new IllegalArgumentException("labels holds " + label + ", not a string");
            names.add(label.textValue());
        }
        if (!labels.isArray() || names.size() < 2)
            throw new IllegalArgumentException("labels is " + labels + ", not a list of at least 2 names");
        return new Sidecar(text(root, "modelVersion"), text(root, "configId"), bits.doubleValue(), List.copyOf(names));
    }

    private static String text(JsonNode root, String field) {
        JsonNode node = root.path(field);
        if (!node.isTextual() || node.textValue().isEmpty())
            throw new IllegalArgumentException(field + " is " + node + ", not a non-empty string");
        return node.textValue();
    }

    /** The packed base is what runs: the sidecar and quant-config.json must describe exactly its configuration. */
    private static void checkConfiguration(ModelQuantConfig packed, Sidecar sidecar, ModelQuantConfig declared) {
        if (!packed.configId().equals(sidecar.configId())) {
            throw new IllegalArgumentException(AdapterEmission.SIDECAR + " names configuration " + sidecar.configId()
                    + " but " + DevicePackage.PACKED + " holds configuration " + packed.configId()
                    + ": the adapter was made for another base");
        }
        if (!packed.configId().equals(declared.configId())) {
            throw new IllegalArgumentException(
                    AdapterEmission.CONFIG + " describes configuration " + declared.configId() + " but "
                            + DevicePackage.PACKED + " holds configuration " + packed.configId());
        }
        if (Math.abs(packed.averageBits() - sidecar.averageBits()) > ModelQuantConfig.AVERAGE_BITS_TOLERANCE) {
            throw new IllegalArgumentException(AdapterEmission.SIDECAR + " says " + sidecar.averageBits()
                    + " average bits but the configuration has " + packed.averageBits());
        }
        Set<String> expected = new TreeSet<>(
                LinearId.all(MODEL).stream().map(LinearId::weightName).toList());
        Set<String> named = new TreeSet<>(
                packed.matrices().stream().map(e -> e.matrix().name()).toList());
        if (!named.equals(expected)) {
            throw new IllegalArgumentException(DevicePackage.PACKED + " quantizes " + named.size()
                    + " matrices, not the model's " + expected.size() + " quantizable ones");
        }
        Map<String, long[]> shapes = BertEncoder.parameterShapes(MODEL);
        for (ModelQuantConfig.Entry e : packed.matrices()) {
            long[] shape = shapes.get(e.matrix().name());
            if (e.matrix().rows() != shape[0] || e.matrix().cols() != shape[1]) {
                throw new IllegalArgumentException(DevicePackage.PACKED + ": "
                        + e.matrix().name() + " is " + e.matrix().rows() + " x "
                        + e.matrix().cols() + ", the model's is " + shape[0] + " x " + shape[1]);
            }
        }
    }

    /** The dense file's tensors: exactly the model's dense parameters, each with its shape. */
    private static Map<String, OnnxWeights.Tensor> denseTensors(byte[] file) {
        Map<String, Safetensors.Tensor> stored =
                Safetensors.fromBytes(file, DevicePackage.DENSE).tensors();
        Map<String, long[]> shapes = BertEncoder.parameterShapes(MODEL);
        Map<String, OnnxWeights.Tensor> tensors = new HashMap<>();
        for (String name : BertEncoder.denseParamNames(MODEL)) {
            Safetensors.Tensor t = stored.get(name);
            if (t == null) throw new IllegalArgumentException("lacks " + name);
            if (!Arrays.equals(t.shape(), shapes.get(name))) {
                throw new IllegalArgumentException(name + " is " + Arrays.toString(t.shape()) + ", the model's is "
                        + Arrays.toString(shapes.get(name)));
            }
            tensors.put(name, new OnnxWeights.Tensor(t.shape(), t.floats()));
        }
        if (stored.size() != tensors.size()) {
            throw new IllegalArgumentException("holds " + (stored.size() - tensors.size())
                    + " tensors that are not dense parameters of the model");
        }
        return tensors;
    }

    /** Every LoRA pair must adapt one of the model's quantizable matrices with its shape; the version must be this package's. */
    private static void checkAdapter(PeftAdapter peft, Sidecar sidecar) {
        if (peft.pairs().isEmpty()) throw new IllegalArgumentException(PeftAdapter.WEIGHTS_FILE + " adapts no matrix");
        Map<String, long[]> shapes = BertEncoder.parameterShapes(MODEL);
        Set<String> matrices = Set.copyOf(
                LinearId.all(MODEL).stream().map(LinearId::weightName).toList());
        peft.pairs().forEach((name, pair) -> {
            if (!matrices.contains(name))
                throw new IllegalArgumentException(
                        PeftAdapter.WEIGHTS_FILE + " adapts " + name + ", not a quantizable matrix of the model");
            long[] shape = shapes.get(name);
            if (pair.out() != shape[0] || pair.in() != shape[1]) {
                throw new IllegalArgumentException(PeftAdapter.WEIGHTS_FILE + ": the factors of " + name + " are for a "
                        + pair.out() + " x " + pair.in() + " matrix, the model's is " + shape[0] + " x " + shape[1]);
            }
        });
        String version = peft.metadata().get(AdapterEmission.MODEL_VERSION_METADATA);
        if (version != null && !version.equals(sidecar.modelVersion())) {
            throw new IllegalArgumentException(PeftAdapter.WEIGHTS_FILE + " is of model version " + version
                    + ", the sidecar names " + sidecar.modelVersion());
        }
    }

    /** weight labels x hidden and bias labels, for the sidecar's labels, which the head's metadata repeats. */
    private static void checkHead(Safetensors.Contents head, Sidecar sidecar) {
        int labels = sidecar.labels().size();
        Map<String, long[]> expected = new LinkedHashMap<>();
        expected.put("weight", new long[] {labels, MODEL.hiddenSize()});
        expected.put("bias", new long[] {labels});
        if (!head.tensors().keySet().equals(expected.keySet())) {
            throw new IllegalArgumentException(
                    AdapterEmission.HEAD + " holds " + head.tensors().keySet() + ", expected [bias, weight]");
        }
        expected.forEach((name, shape) -> {
            Safetensors.Tensor t = head.tensors().get(name);
            if (t.dtype() != Safetensors.Dtype.F32 || !Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException(AdapterEmission.HEAD + ": " + name + " is " + t.dtype() + " "
                        + Arrays.toString(t.shape()) + ", expected F32 " + Arrays.toString(shape)
                        + " for the sidecar's " + labels + " labels " + sidecar.labels());
            }
        });
        String named = head.metadata().get("labels");
        if (named != null && !named.equals(String.join(",", sidecar.labels()))) {
            throw new IllegalArgumentException(
                    AdapterEmission.HEAD + " is for labels [" + named + "], the sidecar names " + sidecar.labels());
        }
    }

    /** The folded adapter on the engine: A (r x in) and B (out x r) per matrix. */
    private static LoraAdapter loraAdapter(PeftAdapter peft, NDManager manager) {
        Map<LinearId, NDArray> a = new TreeMap<>(), b = new TreeMap<>();
        peft.pairs().forEach((name, pair) -> {
            LinearId id = LinearId.parse(name);
            a.put(id, manager.create(pair.a(), new Shape(peft.rank(), pair.in())));
            b.put(id, manager.create(pair.b(), new Shape(pair.out(), peft.rank())));
        });
        return LoraAdapter.of(new LoraSpec(peft.rank(), (float) peft.alpha()), a, b, manager);
    }
}
