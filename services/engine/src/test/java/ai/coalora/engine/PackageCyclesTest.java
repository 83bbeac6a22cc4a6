package ai.coalora.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The engine's packages form no dependency cycle: read from the compiled main classes (every class, descriptor and
 * signature a class file names), so a cycle through a field type or a generic argument counts as well as one
 * through an import. {@code scripts/package-cycles.sh} prints the same with jdeps.
 */
class PackageCyclesTest {
    private static final Pattern ENGINE_TYPE = Pattern.compile("ai/coalora/engine((?:/[a-z0-9_]+)*)/[A-Z][\\w$]*");

    @Test
    void enginePackagesFormNoCycle() throws Exception {
        Map<String, Map<String, Set<String>>> graph = packageGraph(Path.of(CacheDir.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI()));
        assertTrue(graph.size() > 10, "read too few packages: " + graph.keySet());
        assertTrue(
                graph.get("ai.coalora.engine.coa").containsKey("ai.coalora.engine.objective"),
                "the class reader misses references: "
                        + graph.get("ai.coalora.engine.coa").keySet());

        StringBuilder report = new StringBuilder();
        for (Set<String> cycle : cycles(graph)) {
            report.append("\ncycle: ").append(cycle);
            for (String from : cycle) {
                for (Map.Entry<String, Set<String>> to : graph.get(from).entrySet()) {
                    if (cycle.contains(to.getKey()))
                        report.append("\n    ")
                                .append(from)
                                .append(" -> ")
                                .append(to.getKey())
                                .append(" via ")
                                .append(to.getValue());
                }
            }
        }
        assertEquals("", report.toString(), "package dependency cycles (move the classes that close them)");
    }

    @Test
    void findsACycleAndOnlyTheCycle() {
        Map<String, Map<String, Set<String>>> graph = new TreeMap<>();
        edge(graph, "a", "b");
        edge(graph, "b", "c");
        edge(graph, "c", "a");
        edge(graph, "c", "d");
        edge(graph, "d", "e");
        assertEquals(List.of(Set.of("a", "b", "c")), cycles(graph));
    }

    private static void edge(Map<String, Map<String, Set<String>>> graph, String from, String to) {
        graph.computeIfAbsent(from, k -> new TreeMap<>())
                .computeIfAbsent(to, k -> new TreeSet<>())
                .add(from + "->" + to);
        graph.computeIfAbsent(to, k -> new TreeMap<>());
    }

    /** Package -> the packages it uses -> the classes that use them. */
    private static Map<String, Map<String, Set<String>>> packageGraph(Path classes) throws IOException {
        Map<String, Map<String, Set<String>>> graph = new TreeMap<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(classes)) {
            files = walk.filter(p -> p.toString().endsWith(".class")).toList();
        }
        for (Path file : files) {
            String name = classes.relativize(file).toString().replace('\\', '/');
            String from = packageOf(name);
            Map<String, Set<String>> uses = graph.computeIfAbsent(from, k -> new TreeMap<>());
            String simple = name.substring(name.lastIndexOf('/') + 1).replaceFirst("[$.].*", "");
            try (InputStream in = Files.newInputStream(file)) {
                for (String text : typeTexts(in)) {
                    Matcher m = ENGINE_TYPE.matcher(text);
                    while (m.find()) {
                        String to = "ai.coalora.engine" + m.group(1).replace('/', '.');
                        if (!to.equals(from))
                            uses.computeIfAbsent(to, k -> new TreeSet<>()).add(simple);
                    }
                }
            }
        }
        return graph;
    }

    private static String packageOf(String classFile) {
        int slash = classFile.lastIndexOf('/');
        return slash < 0 ? "" : classFile.substring(0, slash).replace('/', '.');
    }

    /** The constant pool's UTF-8 entries but string literals: class names, descriptors and generic signatures. */
    private static List<String> typeTexts(InputStream raw) throws IOException {
        DataInputStream in = new DataInputStream(raw);
        if (in.readInt() != 0xCAFEBABE) throw new IOException("not a class file");
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        Map<Integer, String> utf8 = new HashMap<>();
        Set<Integer> literals = new HashSet<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8.put(i, in.readUTF());
                case 8 -> literals.add(in.readUnsignedShort());
                case 7, 16, 19, 20 -> in.readUnsignedShort();
                case 15 -> in.skipBytes(3);
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.readInt();
                case 5, 6 -> {
                    in.readLong();
                    i++; // 8-byte constants take two slots
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        List<String> out = new ArrayList<>();
        utf8.forEach((index, text) -> {
            if (!literals.contains(index)) out.add(text);
        });
        return out;
    }

    /** Strongly connected groups of more than one package (Tarjan), each sorted, in the order found. */
    private static List<Set<String>> cycles(Map<String, Map<String, Set<String>>> graph) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> out = new ArrayList<>();
        for (String start : graph.keySet()) {
            if (!index.containsKey(start)) connect(start, graph, index, low, stack, onStack, out);
        }
        return out;
    }

    private static void connect(
            String v,
            Map<String, Map<String, Set<String>>> graph,
            Map<String, Integer> index,
            Map<String, Integer> low,
            Deque<String> stack,
            Set<String> onStack,
            List<Set<String>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : graph.getOrDefault(v, Map.of()).keySet()) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> group = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                group.add(w);
            } while (!w.equals(v));
            if (group.size() > 1) out.add(group);
        }
    }
}
