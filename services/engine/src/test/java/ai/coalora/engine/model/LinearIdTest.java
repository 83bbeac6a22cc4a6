package ai.coalora.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Block index and role of every matrix must be right: the reference code got both wrong. */
class LinearIdTest {

    @Test
    void everyMatrixHasItsOwnBlockAndRole() {
        List<LinearId> ids = LinearId.all(BertConfig.MINILM_L6);
        assertEquals(36, ids.size());
        Set<String> names = new HashSet<>();
        for (LinearId id : ids) {
            assertEquals(id, LinearId.parse(id.weightName()));
            names.add(id.weightName());
        }
        assertEquals(36, names.size());
        assertEquals(new LinearId(5, Role.OUTPUT), LinearId.parse("encoder.layer.5.output.dense.weight"));
        assertEquals(
                new LinearId(3, Role.ATTENTION_OUTPUT),
                LinearId.parse("encoder.layer.3.attention.output.dense.weight"));
        Set<Integer> roleIds = new HashSet<>();
        for (Role r : Role.Architecture.ENCODER.roles()) roleIds.add(r.id());
        assertEquals(Set.of(0, 1, 2, 3, 4, 5), roleIds);
    }

    @Test
    void decoderBlocksHaveSevenMatricesWithTheirHfNames() {
        List<LinearId> ids = LinearId.all(Role.Architecture.DECODER, 2);
        assertEquals(14, ids.size());
        for (LinearId id : ids) assertEquals(id, LinearId.parse(id.weightName()));
        assertEquals("model.layers.1.self_attn.q_proj.weight", new LinearId(1, Role.Q_PROJ).weightName());
        assertEquals("model.layers.0.self_attn.k_proj.bias", new LinearId(0, Role.K_PROJ).biasName());
        assertEquals(new LinearId(3, Role.DOWN_PROJ), LinearId.parse("model.layers.3.mlp.down_proj.weight"));
        Set<Integer> roleIds = new HashSet<>();
        for (Role r : Role.Architecture.DECODER.roles()) roleIds.add(r.id());
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6), roleIds);
        // a decoder module name under the encoder prefix is neither
        assertThrows(IllegalArgumentException.class, () -> LinearId.parse("encoder.layer.0.self_attn.q_proj.weight"));
        assertThrows(IllegalArgumentException.class, () -> LinearId.parse("model.layers.0.input_layernorm.weight"));
    }

    @Test
    void nonLinearNamesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> LinearId.parse("encoder.layer.0.output.LayerNorm.weight"));
        assertThrows(IllegalArgumentException.class, () -> LinearId.parse("embeddings.word_embeddings.weight"));
    }
}
