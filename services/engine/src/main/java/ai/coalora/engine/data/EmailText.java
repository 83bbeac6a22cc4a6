package ai.coalora.engine.data;

/**
 * Reduces a raw email to what a reader sees: the subject line and the body. The other headers
 * (Received chains, list and server names) are routing details specific to how the corpus was
 * collected; a model would learn to recognise the mailbox instead of the message, and they would use
 * up most of a short token budget.
 */
final class EmailText {
    private EmailText() {}

    static String subjectAndBody(String raw) {
        String email = raw.replace("\r\n", "\n");
        int end = email.indexOf("\n\n");
        String headers = end < 0 ? email : email.substring(0, end);
        String body = end < 0 ? "" : email.substring(end + 2);
        String subject = subject(headers);
        String text = subject.isEmpty() ? body : "Subject: " + subject + "\n\n" + body;
        return text.strip();
    }

    /** The Subject header, with folded continuation lines joined. */
    private static String subject(String headers) {
        StringBuilder subject = null;
        for (String line : headers.split("\n")) {
            if (subject != null) {
                if (line.startsWith(" ") || line.startsWith("\t")) {
                    subject.append(' ').append(line.strip());
                    continue;
                }
                break;
            }
            if (line.regionMatches(true, 0, "Subject:", 0, 8))
                subject = new StringBuilder(line.substring(8).strip());
        }
        return subject == null ? "" : subject.toString();
    }
}
