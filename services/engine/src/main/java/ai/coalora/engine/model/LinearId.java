package ai.coalora.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One quantizable linear matrix: its block index and role; its HF weight name follows from them. */
public record LinearId(int block, Role role) implements Comparable<LinearId> {

    private static final Pattern HF_NAME = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.(.+)\\.weight$");

    public String weightName() { return "encoder.layer." + block + "." + role.hfModule() + ".weight"; }

    public String biasName() { return "encoder.layer." + block + "." + role.hfModule() + ".bias"; }

    /** Parses an HF weight name, block index included (the reference code read every block as 0). */
    public static LinearId parse(String weightName) {
        Matcher m = HF_NAME.matcher(weightName);
        if (m.matches()) {
            for (Role r : Role.values()) {
                if (r.hfModule().equals(m.group(2))) return new LinearId(Integer.parseInt(m.group(1)), r);
            }
        }
        throw new IllegalArgumentException("not a quantizable BERT linear weight: " + weightName);
    }

    /** All linear matrices of an encoder, block by block, in role order. */
    public static List<LinearId> all(BertConfig config) {
        List<LinearId> ids = new ArrayList<>();
        for (int block = 0; block < config.numLayers(); block++) {
            for (Role r : Role.values()) ids.add(new LinearId(block, r));
        }
        return ids;
    }

    @Override
    public int compareTo(LinearId o) {
        return block != o.block ? Integer.compare(block, o.block) : role.compareTo(o.role);
    }
}
