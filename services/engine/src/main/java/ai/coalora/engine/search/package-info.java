/**
 * Pareto-based configuration search (see shared/design/method.md, "Pareto-based configuration search"): which
 * quantization configurations the adapter trains on next.
 *
 * <ul>
 *   <li>{@link ai.coalora.engine.search.Evaluated}, {@link ai.coalora.engine.search.ParetoArchive}: measured
 *       configurations (f1 = loss, f2 = exact average bits);
 *   <li>{@link ai.coalora.engine.search.ParetoFront}, {@link ai.coalora.engine.search.Hypervolume}: what "better"
 *       means for two minimised objectives;
 *   <li>{@link ai.coalora.engine.search.GaussianProcess},
 *       {@link ai.coalora.engine.search.ExpectedHypervolumeImprovement},
 *       {@link ai.coalora.engine.search.ConfigurationSearch}: surrogate, acquisition and the greedy coordinate
 *       search that proposes new configurations each epoch;
 *   <li>{@link ai.coalora.engine.search.BitSegments}: per-budget non-dominated selection of the training set.
 * </ul>
 */
package ai.coalora.engine.search;
