package ai.coalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The scale benchmark's shapes are Qwen2.5's, and its extrapolation is the line through two depths. */
class BenchScaleCommandTest {
    @Test
    void shapesHaveTheParameterCountsQwenPublishes() {
        // Qwen/Qwen2.5-0.5B and -1.5B: 494,032,768 and 1,543,714,304 parameters (tied embeddings, q/k/v biases)
        assertEquals(494_032_768L, BenchScaleCommand.parameters(BenchScaleCommand.Shape.QWEN2_5_0_5B.config(24)));
        assertEquals(1_543_714_304L, BenchScaleCommand.parameters(BenchScaleCommand.Shape.QWEN2_5_1_5B.config(28)));
    }

    @Test
    void aStageIsExtrapolatedAlongTheLineThroughTwoDepths() {
        // 10 s at 1 block, 14 s at 2: 6 s fixed + 4 s per block, so 102 s at 24
        assertEquals(102.0, BenchScaleCommand.line(10, 14, 1, 2, 24), 1e-9);
        assertEquals(14.0, BenchScaleCommand.line(10, 14, 1, 2, 2), 1e-9);
    }
}
