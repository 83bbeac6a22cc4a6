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
        assertEquals(new LinearId(3, Role.ATTENTION_OUTPUT), LinearId.parse("encoder.layer.3.attention.output.dense.weight"));
        Set<Integer> roleIds = new HashSet<>();
        for (Role r : Role.values()) roleIds.add(r.id());
        assertEquals(Role.values().length, roleIds.size());
    }

    @Test
    void nonLinearNamesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> LinearId.parse("encoder.layer.0.output.LayerNorm.weight"));
        assertThrows(IllegalArgumentException.class, () -> LinearId.parse("embeddings.word_embeddings.weight"));
    }
}
