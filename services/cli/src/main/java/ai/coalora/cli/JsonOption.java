package ai.coalora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import picocli.CommandLine.Option;

/** The {@code --json} flag shared by every command: machine-readable output on stdout. */
public final class JsonOption {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--json", description = "Print machine-readable JSON on stdout instead of text.")
    boolean json;

    void print(Object value) {
        try {
            System.out.println(MAPPER.writeValueAsString(value));
        } catch (Exception e) {
            throw new IllegalStateException("cannot write JSON output", e);
        }
    }
}
