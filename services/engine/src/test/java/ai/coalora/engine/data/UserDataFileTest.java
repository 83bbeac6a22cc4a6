package ai.coalora.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.common.Sha256;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserDataFileTest {
    @TempDir
    Path dir;

    @Test
    void csvWithQuotedCommasQuotesAndNewlines() throws IOException {
        Path file = write("reviews.csv", """
                id,text,label
                1,"Great, really great",pos
                2,"She said \"\"meh\"\"",neg
                3,"line one
                line two",neg
                4,plain text,pos
                """);
        TaskData task = Tasks.fromFile(DataFileOptions.of(file));
        assertEquals("reviews", task.name());
        assertEquals(List.of("neg", "pos"), task.labels());
        List<String> texts = all(task).stream().map(Example::text).sorted().toList();
        assertEquals(List.of("Great, really great", "She said \"meh\"", "line one\nline two", "plain text"), texts);
        Example great = all(task).stream()
                .filter(e -> e.text().startsWith("Great"))
                .findFirst()
                .orElseThrow();
        assertEquals(1, great.label());
        assertEquals(Sha256.of(file), task.sourceSha256());
    }

    @Test
    void jsonlWithNumericLabels() throws IOException {
        Path file = write("data.jsonl", """
                {"text": "good", "label": 1}
                {"text": "bad", "label": 0}

                {"text": "fine", "label": "1", "extra": [1, 2]}
                """);
        TaskData task = Tasks.fromFile(DataFileOptions.of(file));
        assertEquals(List.of("0", "1"), task.labels());
        assertEquals(3, task.size());
        assertEquals(2, all(task).stream().filter(e -> e.label() == 1).count());
    }

    @Test
    void seededSplitIs70_10_20AndDeterministic() throws IOException {
        StringBuilder csv = new StringBuilder("text,label\n");
        for (int i = 0; i < 100; i++)
            csv.append("text number ")
                    .append(i)
                    .append(',')
                    .append(i % 3 == 0 ? "a" : "b")
                    .append('\n');
        Path file = write("many.csv", csv.toString());
        TaskData first = Tasks.fromFile(DataFileOptions.of(file));
        assertEquals(
                List.of(70, 10, 20),
                List.of(
                        first.train().size(),
                        first.validation().size(),
                        first.test().size()));
        assertEquals(first, Tasks.fromFile(DataFileOptions.of(file)));
        TaskData otherSeed = Tasks.fromFile(new DataFileOptions(file, "text", "label", null, null, 7));
        assertTrue(!first.train().equals(otherSeed.train()), "the seed changes the split");
    }

    @Test
    void splitColumnDecidesTheSplits() throws IOException {
        Path file = write("split.csv", """
                text,label,split
                a,x,train
                b,y,train
                c,x,validation
                d,y,test
                """);
        TaskData task = Tasks.fromFile(new DataFileOptions(file, "text", "label", "split", null, 42));
        assertEquals(List.of("a", "b"), task.train().stream().map(Example::text).toList());
        assertEquals(List.of("c"), task.validation().stream().map(Example::text).toList());
        assertEquals(List.of("d"), task.test().stream().map(Example::text).toList());
    }

    @Test
    void explicitLabelsFixTheOrderAndRejectOthers() throws IOException {
        Path good = write("good.csv", "text,label\nhi,pos\nho,neg\n");
        TaskData task = Tasks.fromFile(new DataFileOptions(good, "text", "label", null, List.of("pos", "neg"), 42));
        assertEquals(List.of("pos", "neg"), task.labels());
        assertEquals(
                0,
                all(task).stream()
                        .filter(e -> e.text().equals("hi"))
                        .findFirst()
                        .orElseThrow()
                        .label());

        Path bad = write("bad.csv", "text,label\nhi,pos\nho,neutral\nhu,neg\n");
        DataFormatException e = assertThrows(
                DataFormatException.class,
                () -> Tasks.fromFile(new DataFileOptions(bad, "text", "label", null, List.of("pos", "neg"), 42)));
        assertProblems(e, bad + ":3: unknown label 'neutral'");
    }

    @Test
    void everyBadCsvRowIsReportedWithItsLine() throws IOException {
        Path file = write("bad.csv", """
                text,label,split
                ok,a,train
                ,a,train
                no label,,train
                too,many,fields,here
                fine,b,train
                wrong split,b,dev
                "stray" quote,a,test
                "never closed,b,test
                """);
        DataFormatException e = assertThrows(
                DataFormatException.class,
                () -> Tasks.fromFile(new DataFileOptions(file, "text", "label", "split", null, 42)));
        assertProblems(
                e,
                file + ":3: missing or blank text",
                file + ":4: missing label",
                file + ":5: expected 3 fields (as in the header), found 4",
                file + ":7: unknown split 'dev'",
                file + ":8: unexpected character after closing quote",
                file + ":9: unterminated quoted field");
        assertEquals(6, e.problems().size(), e.getMessage());
    }

    @Test
    void everyBadJsonlRowIsReportedWithItsLine() throws IOException {
        Path file = write("bad.jsonl", """
                {"text": "ok", "label": "a"}
                {"text": "broken", "label": "a"
                [1, 2]
                {"label": "b"}
                {"text": "   ", "label": "b"}
                {"text": "no label"}
                {"text": 5, "label": "b"}
                {"text": "ok too", "label": "b"} trailing
                {"text": "fine", "label": "b"}
                """);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(file)));
        System.out.println(e.getMessage()); // what a user sees
        assertProblems(
                e,
                file + ":2: malformed JSON",
                file + ":3: expected a JSON object, found array",
                file + ":4: missing or blank text",
                file + ":5: missing or blank text",
                file + ":6: missing label",
                file + ":7: field 'text' must be a string, found number",
                file + ":8: malformed JSON");
        assertEquals(7, e.problems().size(), e.getMessage());
    }

    @Test
    void invalidUtf8IsReportedWithItsLine() throws IOException {
        byte[] head = "text,label\ngood,a\n".getBytes(StandardCharsets.UTF_8);
        byte[] bad = {'b', 'a', (byte) 0xC3, 'd', ',', 'b', '\n'}; // 0xC3 starts a 2-byte sequence
        byte[] tail = "caf\u00e9 ok,b\n".getBytes(StandardCharsets.UTF_8); // valid multi-byte text
        Path file = dir.resolve("latin1.csv");
        Files.write(file, concat(head, bad, tail));
        DataFormatException e = assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(file)));
        assertProblems(e, file + ":3: invalid UTF-8 at byte 3");
        assertEquals(1, e.problems().size(), e.getMessage());
    }

    @Test
    void problemListIsCappedAt20() throws IOException {
        StringBuilder csv = new StringBuilder("text,label\nok,a\nok,b\n");
        for (int i = 0; i < 25; i++) csv.append(",a\n");
        Path file = write("blank.csv", csv.toString());
        DataFormatException e = assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(file)));
        assertEquals(25, e.problems().size());
        assertTrue(e.getMessage().contains(file + ":23: missing or blank text"), e.getMessage());
        assertTrue(!e.getMessage().contains(file + ":24:"), "only the first 20 are listed");
        assertTrue(e.getMessage().endsWith("... and 5 more"), e.getMessage());
    }

    @Test
    void fileLevelProblems() throws IOException {
        Path empty = write("empty.csv", "");
        assertProblems(
                assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(empty))),
                empty + ": empty file");

        Path emptyJsonl = write("empty.jsonl", "\n\n");
        assertProblems(
                assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(emptyJsonl))),
                emptyJsonl + ": empty file");

        Path headerOnly = write("header.csv", "text,label\n");
        assertProblems(
                assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(headerOnly))),
                headerOnly + ": no data rows");

        Path noLabel = write("nolabel.csv", "text,category\nhi,a\n");
        assertProblems(
                assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(noLabel))),
                noLabel + ": missing label column 'label' (header has: text, category)");

        Path oneLabel = write("one.csv", "text,label\nhi,a\nho,a\n");
        assertProblems(
                assertThrows(DataFormatException.class, () -> Tasks.fromFile(DataFileOptions.of(oneLabel))),
                oneLabel + ": found 1 distinct label(s) [a]");

        Path txt = write("data.txt", "text,label\n");
        assertThrows(IllegalArgumentException.class, () -> Tasks.fromFile(DataFileOptions.of(txt)));
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    /** Each expected text must start one of the reported problems (in the message, as file:line: reason). */
    private static void assertProblems(DataFormatException e, String... expected) {
        List<String> reported =
                e.problems().stream().map(DataFormatException.Problem::toString).toList();
        for (String want : expected) {
            assertTrue(
                    reported.stream().anyMatch(p -> p.startsWith(want)),
                    "missing '" + want + "' in:\n" + e.getMessage());
            assertTrue(e.getMessage().contains(want), e.getMessage());
        }
    }

    private static List<Example> all(TaskData task) {
        return Stream.of(task.train(), task.validation(), task.test())
                .flatMap(List::stream)
                .toList();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
