package ai.coalora.engine.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects every problem found in one file, so they are all reported together. */
final class Problems {
    private final String file;
    private final List<DataFormatException.Problem> list = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    void add(long line, String reason) {
        list.add(new DataFormatException.Problem(file, line, reason));
    }

    void addFileProblem(String reason) {
        add(0, reason);
    }

    int size() {
        return list.size();
    }

    /** Throws if anything was collected; whole-file problems first, then by line, as a user would fix them. */
    void throwIfAny() {
        if (list.isEmpty()) return;
        List<DataFormatException.Problem> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingLong(DataFormatException.Problem::line)); // stable: same-line order kept
        throw new DataFormatException(sorted);
    }
}
