package ai.coalora.engine.data;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem found in one file, so they are all reported together. */
final class Problems {
    private final String file;
    private final List<DataFormatException.Problem> list = new ArrayList<>();

    Problems(String file) { this.file = file; }

    void add(long line, String reason) { list.add(new DataFormatException.Problem(file, line, reason)); }

    void addFileProblem(String reason) { add(0, reason); }

    int size() { return list.size(); }

    /** Throws if anything was collected. */
    void throwIfAny() {
        if (!list.isEmpty()) throw new DataFormatException(list);
    }
}
