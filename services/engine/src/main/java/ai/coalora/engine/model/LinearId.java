package ai.coalora.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One quantizable linear matrix: its block index and role; its HF weight name follows from them. */
public record LinearId(int block, Role role) implements Comparable<LinearId> {

    private static final Pattern HF_NAME =
            Pattern.compile("^(encoder\\.layer\\.|model\\.layers\\.)(\\d+)\\.(.+)\\.weight$");

    public String weightName() {
        return prefix() + block + "." + role.hfModule() + ".weight";
    }

    public String biasName() {
        return prefix() + block + "." + role.hfModule() + ".bias";
    }

    private String prefix() {
        return role.architecture().blockPrefix;
    }

    /** Parses an HF weight name, block index included (the reference code read every block as 0). */
    public static LinearId parse(String weightName) {
        Matcher m = HF_NAME.matcher(weightName);
        if (m.matches()) {
            for (Role r : Role.values()) {
                if (r.architecture().blockPrefix.equals(m.group(1))
                        && r.hfModule().equals(m.group(3))) {
                    return new LinearId(Integer.parseInt(m.group(2)), r);
                }
            }
        }
        throw new IllegalArgumentException(
                "not a quantizable linear weight (BERT encoder or Llama/Qwen2 decoder): " + weightName);
    }

    /** All linear matrices of {@code blocks} blocks of an architecture, block by block, in role order. */
    public static List<LinearId> all(Role.Architecture architecture, int blocks) {
        List<LinearId> ids = new ArrayList<>();
        for (int block = 0; block < blocks; block++) {
            for (Role r : architecture.roles()) ids.add(new LinearId(block, r));
        }
        return ids;
    }

    /** All linear matrices of an encoder, block by block, in role order. */
    public static List<LinearId> all(BertConfig config) {
        return all(Role.Architecture.ENCODER, config.numLayers());
    }

    @Override
    public int compareTo(LinearId o) {
        return block != o.block ? Integer.compare(block, o.block) : role.compareTo(o.role);
    }
}
