/**
 * Quantization for CoA-LoRA (see shared/design/method.md, "Quantization configuration" and "Quantizers").
 *
 * <ul>
 *   <li>{@link ai.coalora.engine.quant.QuantConfig}: the 5-field per-matrix configuration (432 options) and its
 *       bits per weight {@code b + b0/B0 + bits(b1)/(B0*B1)}, the one definition used everywhere;
 *   <li>{@link ai.coalora.engine.quant.Quantizer}: blockwise double quantization (NF-k or INT-k), producing
 *       either fake-quantized floats (training) or a bit-packed {@link ai.coalora.engine.quant.PackedMatrix}
 *       (devices); both share one code path and agree bit for bit;
 *   <li>{@link ai.coalora.engine.quant.ModelQuantConfig}: a whole-model configuration and its JSON form;
 *   <li>{@link ai.coalora.engine.quant.QuantErrorTable} and {@link ai.coalora.engine.quant.BudgetAllocator}:
 *       per-option errors and the budgeted (multiple-choice knapsack) allocation that seeds the training set.
 * </ul>
 */
package ai.coalora.engine.quant;
