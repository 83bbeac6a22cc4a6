import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.LanguageModelLoss;
import ai.coalora.engine.lm.TokenWindows;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;

/** By-hand check (not part of the build): our perplexity of model.gguf (+ adapter.gguf merged) on review test windows; writes the ids for llama.cpp. */
public class JavaPerplexity {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]), tok = Path.of(a[1]);
        int seq = 64, windows = Integer.parseInt(a[2]);
        BpeTokenizer tokenizer = BpeTokenizer.load(tok);
        TokenWindows w = TokenWindows.of(tokenizer, Tasks.builtin("sentiment").test().stream().map(Example::text).toList(), seq, windows);
        HfCheckpoint base = GgufDecoderExport.read(dir.resolve("model.gguf"));
        StringBuilder ids = new StringBuilder("[");
        for (int i = 0; i < w.ids().length; i++) ids.append(i == 0 ? "" : ",").append(w.ids()[i]);
        Files.writeString(dir.resolve("ids.json"), "{\"seq\":" + seq + ",\"ids\":" + ids + "]}");
        for (boolean withAdapter : new boolean[] {false, true}) {
            HfCheckpoint ckpt = withAdapter ? GgufDecoderExport.read(dir.resolve("model.gguf"), dir.resolve("adapter.gguf")) : base;
            try (NDManager m = NDManager.newBaseManager(); LlamaDecoder dec = LlamaDecoder.of(ckpt, m)) {
                double loss = LanguageModelLoss.meanLoss(dec, w, dec.fullPrecision(), null);
                System.out.printf("java %s: %d windows of %d, loss %.5f, perplexity %.3f%n", withAdapter ? "model+adapter" : "model", w.count(), seq, loss, Math.exp(loss));
            }
        }
    }
}
