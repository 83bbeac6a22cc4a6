package ai.coalora.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Uses the real datasets, fetched into the cache by scripts/fetch-data.sh before the tests run. */
class BuiltinTasksTest {

    @Test
    void sentimentHas3000LabelledSentencesSplit70_10_20() {
        TaskData task = Tasks.builtin("sentiment");
        printSizes(task);
        assertEquals(List.of("negative", "positive"), task.labels());
        assertEquals(3000, task.size());
        assertEquals(2100, task.train().size());
        assertEquals(300, task.validation().size());
        assertEquals(600, task.test().size());
        assertEquals(1500, all(task).filter(e -> e.label() == 1).count());
        assertTrue(all(task).noneMatch(e -> e.text().isBlank()), "the unlabelled empty rows are dropped");
        assertEquals(64, task.sourceSha256().length());
    }

    @Test
    void spamHas6046EmailsSplit70_10_20() {
        TaskData task = Tasks.builtin("spam");
        printSizes(task);
        assertEquals(List.of("ham", "spam"), task.labels());
        assertEquals(6046, task.size());
        assertEquals(4232, task.train().size());
        assertEquals(604, task.validation().size());
        assertEquals(1210, task.test().size());
        assertEquals(1896, all(task).filter(e -> e.label() == 1).count());
        assertTrue(
                all(task)
                        .noneMatch(e -> e.text().startsWith("From ") || e.text().startsWith("Return-Path:")),
                "routing headers are stripped");
        assertTrue(all(task).allMatch(e -> !e.text().isBlank()));
    }

    @Test
    void splitsAreDeterministicAndDisjoint() {
        for (String name : Tasks.BUILTIN) {
            TaskData a = Tasks.builtin(name);
            TaskData b = Tasks.builtin(name);
            assertEquals(a, b, name + " loads identically twice");
            assertEquals(a.sourceSha256(), b.sourceSha256());

            // Disjoint as rows: no example object is in two splits, and all rows are accounted for.
            Set<Example> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            all(a).forEach(seen::add);
            assertEquals(a.size(), seen.size(), name + " splits share no rows");

            // Disjoint as texts too, except for texts the source itself holds more than once
            // (the SpamAssassin corpus has a few hundred duplicated emails, the review sets a handful).
            Map<String, Long> copies = all(a).collect(Collectors.groupingBy(Example::text, Collectors.counting()));
            Set<String> train = a.train().stream().map(Example::text).collect(Collectors.toSet());
            Stream.concat(a.validation().stream(), a.test().stream())
                    .map(Example::text)
                    .filter(train::contains)
                    .forEach(t -> assertTrue(copies.get(t) > 1, name + ": a unique text is in two splits"));
        }
    }

    @Test
    void unknownTaskListsValidNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tasks.builtin("nope"));
        assertTrue(e.getMessage().contains("sentiment") && e.getMessage().contains("spam"), e.getMessage());
    }

    @Test
    void missingCacheTellsUserToFetch() {
        String old = System.getProperty("coalora.cache");
        System.setProperty("coalora.cache", "/nonexistent/coalora-cache");
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tasks.builtin("sentiment"));
            assertTrue(e.getMessage().contains("scripts/fetch-data.sh"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("coalora.cache");
            else System.setProperty("coalora.cache", old);
        }
        assertFalse(Tasks.builtin("sentiment").train().isEmpty());
    }

    private static Stream<Example> all(TaskData task) {
        return Stream.of(task.train(), task.validation(), task.test()).flatMap(List::stream);
    }

    private static void printSizes(TaskData task) {
        System.out.printf(
                "%s: train %d, validation %d, test %d (sha256 %s)%n",
                task.name(),
                task.train().size(),
                task.validation().size(),
                task.test().size(),
                task.sourceSha256());
    }
}
