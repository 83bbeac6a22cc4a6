/**
 * GGUF, the file format of llama.cpp and other edge runtimes: the format layer only (the decoder export that
 * uses it is still to come).
 *
 * <ul>
 *   <li>{@link ai.coalora.engine.gguf.GgufType}: ggml's tensor types (ids, block sizes, exact bits per weight) with
 *       pure-Java quantize/dequantize for F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, reading ggml's
 *       block layouts bit for bit;
 *   <li>{@link ai.coalora.engine.gguf.GgufWriter} / {@link ai.coalora.engine.gguf.GgufReader}: GGUF v3 files with
 *       every metadata value type, alignment and padding, validated on read;
 *   <li>{@link ai.coalora.engine.gguf.GgufLoraFile}: LoRA adapters as llama.cpp loads them;
 *   <li>{@link ai.coalora.engine.gguf.GgufTypeMapping}: our per-matrix bit-widths to GGUF types, with fallbacks and
 *       the real bits per weight.
 * </ul>
 */
package ai.coalora.engine.gguf;
