package ai.coalora.engine.coa;

import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.quant.QuantConfig;

/**
 * The seven categorical inputs the configuration-aware network sees for one matrix: its five
 * configuration fields (as positions in their option lists), its block index and its module role.
 * Block and role come from the matrix's {@link LinearId}, i.e. from its parsed name: the reference
 * code read every Llama block as 0 and gave two BERT roles one id, so the network could not tell them apart. The
 * role is its position within its architecture's roles (6 for a BERT block, 7 for a Llama block).
 */
public record ConfigFields(
        int weightBits, int scaleBits, int scaleType, int blockSize, int groupSize, int block, int role) {

    /** Number of fields, i.e. embeddings concatenated at the network's input. */
    public static final int COUNT = 7;
    /** The first five fields describe the configuration; block and role describe the matrix. */
    public static final int CONFIGURATION_FIELDS = 5;

    public static ConfigFields of(LinearId id, QuantConfig c) {
        return new ConfigFields(
                QuantConfig.WEIGHT_BITS.indexOf(c.b()),
                QuantConfig.SCALE_BITS.indexOf(c.b0()),
                QuantConfig.SCALE_TYPES.indexOf(c.b1()),
                QuantConfig.BLOCK_SIZES.indexOf(c.B0()),
                QuantConfig.GROUP_SIZES.indexOf(c.B1()),
                id.block(),
                id.role().id());
    }

    /** How many values each field can take, in field order, for a model of {@code numBlocks} blocks of {@code numRoles} roles. */
    public static int[] vocabularySizes(int numBlocks, int numRoles) {
        return new int[] {
            QuantConfig.WEIGHT_BITS.size(),
            QuantConfig.SCALE_BITS.size(),
            QuantConfig.SCALE_TYPES.size(),
            QuantConfig.BLOCK_SIZES.size(),
            QuantConfig.GROUP_SIZES.size(),
            numBlocks,
            numRoles
        };
    }

    /** Field names, in order: also the names of the embedding tables in a saved bundle. */
    public static final String[] NAMES = {
        "weight_bits", "scale_bits", "scale_type", "block_size", "group_size", "block", "role"
    };

    /** The quantization option these fields describe. */
    public QuantConfig option() {
        return new QuantConfig(
                QuantConfig.WEIGHT_BITS.get(weightBits),
                QuantConfig.SCALE_BITS.get(scaleBits),
                QuantConfig.SCALE_TYPES.get(scaleType),
                QuantConfig.BLOCK_SIZES.get(blockSize),
                QuantConfig.GROUP_SIZES.get(groupSize));
    }

    public int[] values() {
        return new int[] {weightBits, scaleBits, scaleType, blockSize, groupSize, block, role};
    }
}
