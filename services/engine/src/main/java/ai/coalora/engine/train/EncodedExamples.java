package ai.coalora.engine.train;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.model.BertTokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/** A split tokenized once: token ids and labels, ready for batching. */
public record EncodedExamples(List<long[]> ids, int[] labels) {

    public static EncodedExamples of(BertTokenizer tokenizer, List<String> texts, int[] labels) {
        if (texts.size() != labels.length) throw new IllegalArgumentException("texts and labels differ in number");
        return new EncodedExamples(tokenizer.encodeAll(texts), labels.clone());
    }

    /** A task split: its texts tokenized, its label indices. */
    public static EncodedExamples of(BertTokenizer tokenizer, List<Example> examples) {
        return of(
                tokenizer,
                examples.stream().map(Example::text).toList(),
                examples.stream().mapToInt(Example::label).toArray());
    }

    public int size() {
        return labels.length;
    }

    /** Example indices sorted by length: evaluating in this order gives the same results with far less padding. */
    public int[] lengthOrder() {
        return IntStream.range(0, size())
                .boxed()
                .sorted(Comparator.comparingInt(i -> ids.get(i).length))
                .mapToInt(Integer::intValue)
                .toArray();
    }

    public long tokens() {
        long n = 0;
        for (long[] s : ids) n += s.length;
        return n;
    }

    public List<long[]> ids(int[] order, int from, int to) {
        List<long[]> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) out.add(ids.get(order[i]));
        return out;
    }

    public int[] labels(int[] order, int from, int to) {
        int[] out = new int[to - from];
        for (int i = from; i < to; i++) out[i - from] = labels[order[i]];
        return out;
    }
}
