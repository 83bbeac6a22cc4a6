package ai.coalora.engine.data;

import java.util.List;

/**
 * A data file has problems. All of them are collected before this is thrown, so the user can fix the
 * file in one go; the message lists them as {@code file:line: reason} (line 0 means the whole file).
 */
public class DataFormatException extends RuntimeException {
    /** The message lists at most this many problems, then "... and N more". */
    static final int MAX_LISTED = 20;

    /** One problem; {@code line} is 1-based, 0 when it concerns the whole file. */
    public record Problem(String file, long line, String reason) {
        @Override
        public String toString() {
            return line > 0 ? file + ":" + line + ": " + reason : file + ": " + reason;
        }
    }

    private final List<Problem> problems;

    public DataFormatException(List<Problem> problems) {
        super(format(problems));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }

    private static String format(List<Problem> problems) {
        StringBuilder sb = new StringBuilder();
        sb.append(problems.size())
                .append(problems.size() == 1 ? " problem" : " problems")
                .append(" in data:");
        problems.stream().limit(MAX_LISTED).forEach(p -> sb.append("\n  ").append(p));
        if (problems.size() > MAX_LISTED)
            sb.append("\n  ... and ").append(problems.size() - MAX_LISTED).append(" more");
        return sb.toString();
    }
}
