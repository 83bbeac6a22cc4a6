package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Every dependency and plugin version of the build lives in the parent POM (its dependencyManagement and
 * pluginManagement): a module names what it uses, never which version, so one edit upgrades the whole tree and two
 * modules cannot drift apart. The enforcer checks that every plugin has a version; this checks where it is.
 */
class BuildPinsTest {

    @Test
    void modulesTakeEveryVersionFromTheParent() throws Exception {
        Path root = FleetStack.repositoryRoot();
        List<Path> poms = modulePoms(root);
        assertTrue(poms.size() >= 10, "found only " + poms + " under services/");
        List<String> problems = new ArrayList<>();
        for (Path pom : poms) {
            for (String entry : versionedEntries(pom)) {
                problems.add(root.relativize(pom) + ": " + entry + " sets its version; pin it in the parent pom.xml");
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void aVersionInAModuleIsFound() throws Exception {
        Path pom = Files.createTempFile("pom", ".xml");
        try {
            Files.writeString(
                    pom,
                    "<project><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId>"
                            + "<version>1</version></dependency><dependency><groupId>g</groupId>"
                            + "<artifactId>b</artifactId></dependency></dependencies><build><plugins><plugin>"
                            + "<artifactId>p</artifactId><version>2</version></plugin></plugins></build></project>");
            assertEquals(List.of("dependency g:a", "plugin ?:p"), versionedEntries(pom));
        } finally {
            Files.delete(pom);
        }
    }

    /** The dependencies and plugins of {@code pom} that name a version, as {@code "dependency group:artifact"}. */
    static List<String> versionedEntries(Path pom) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
        List<String> out = new ArrayList<>();
        for (String tag : List.of("dependency", "plugin")) {
            NodeList nodes = doc.getElementsByTagName(tag);
            for (int i = 0; i < nodes.getLength(); i++) {
                Element e = (Element) nodes.item(i);
                if (child(e, "version") != null) {
                    out.add(tag + " " + text(e, "groupId") + ":" + text(e, "artifactId"));
                }
            }
        }
        return out;
    }

    static List<Path> modulePoms(Path root) throws IOException {
        try (Stream<Path> dirs = Files.list(root.resolve("services"))) {
            return dirs.map(d -> d.resolve("pom.xml"))
                    .filter(Files::isRegularFile)
                    .sorted()
                    .toList();
        }
    }

    private static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) return e;
        }
        return null;
    }

    private static String text(Element parent, String name) {
        Element c = child(parent, name);
        return c == null ? "?" : c.getTextContent().trim();
    }
}
