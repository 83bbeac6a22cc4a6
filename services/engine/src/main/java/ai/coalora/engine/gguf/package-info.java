/**
 * GGUF, the file format of llama.cpp and other edge runtimes: the format itself, and the export of a decoder
 * quantized by one CoA-LoRA configuration.
 *
 * <ul>
 *   <li>{@link ai.coalora.engine.gguf.GgufType}: ggml's tensor types (ids, block sizes, exact bits per weight) with
 *       pure-Java quantize/dequantize for F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, reading ggml's
 *       block layouts bit for bit;
 *   <li>{@link ai.coalora.engine.gguf.GgufWriter} / {@link ai.coalora.engine.gguf.GgufReader}: GGUF v3 files with
 *       every metadata value type, alignment and padding, validated on read;
 *   <li>{@link ai.coalora.engine.gguf.GgufLoraFile}: LoRA adapters as llama.cpp loads them;
 *   <li>{@link ai.coalora.engine.gguf.GgufTypeMapping}: our per-matrix bit-widths to GGUF types, with fallbacks and
 *       the real bits per weight;
 *   <li>{@link ai.coalora.engine.gguf.GgufDecoderExport}: a Llama / Qwen2 checkpoint, its byte-level BPE tokenizer
 *       and a configuration as a GGUF file for llama.cpp's "llama" / "qwen2" architecture (each linear weight in
 *       its mapped type, norms F32, embeddings and head F16, hyper-parameters, {@code tokenizer.ggml.*} and
 *       {@code coalora.*} metadata); the folded adapter of that configuration as a GGUF LoRA; and the way back to
 *       an F32 Hugging Face checkpoint that our decoder runs;
 *   <li>{@link ai.coalora.engine.gguf.LlamaTensorNames}: Hugging Face tensor names to GGUF names and back;
 *   <li>{@link ai.coalora.engine.gguf.RopeLayout}: the q/k row reordering from HF's rotate-half rotary layout to
 *       the adjacent pairs llama.cpp's "llama" architecture rotates (convert_hf_to_gguf's permute).
 * </ul>
 */
package ai.coalora.engine.gguf;
