package ai.coalora.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.io.SvgPlot.Axis;
import ai.coalora.engine.io.SvgPlot.Point;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SvgPlotTest {
    @TempDir
    Path dir;

    private static Document parse(byte[] svg) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg));
    }

    private static Document parse(String svg) throws Exception {
        return parse(svg.getBytes(StandardCharsets.UTF_8));
    }

    /** Elements of the given tag whose class attribute is exactly {@code cssClass}, under {@code root}. */
    private static List<Element> byClass(Element root, String tag, String cssClass) {
        List<Element> found = new ArrayList<>();
        NodeList nodes = root.getElementsByTagName(tag);
        for (int i = 0; i < nodes.getLength(); i++) {
            Element e = (Element) nodes.item(i);
            if (e.getAttribute("class").equals(cssClass)) found.add(e);
        }
        return found;
    }

    private static SvgPlot sample() {
        return SvgPlot.builder()
                .title("MiniLM <SST-2> & friends")
                .series(
                        "CoA-LoRA (seen)",
                        List.of(Point.of(4, 0.90), Point.of(2.5, 0.85), new Point(3.25, 0.88, 0.86, 0.89)),
                        true)
                .series("QLoRA \"per config\" & <co>", List.of(Point.of(2.5, 0.80), Point.of(4, 0.89)), false)
                .series("unseen", List.of(Point.of(3, 0.87)), false, "#4e79a7")
                .build();
    }

    @Test
    void outputIsWellFormedXmlWithOneGroupPerSeries() throws Exception {
        Path file = dir.resolve("plot.svg");
        sample().write(file);
        Element svg = parse(Files.readAllBytes(file)).getDocumentElement();
        assertEquals("svg", svg.getLocalName());
        assertEquals("http://www.w3.org/2000/svg", svg.getNamespaceURI());

        List<Element> series = byClass(svg, "g", "series");
        assertEquals(3, series.size());
        int[] points = {3, 2, 1};
        for (int i = 0; i < series.size(); i++) {
            assertEquals(1, series.get(i).getElementsByTagName("path").getLength());
            assertEquals(points[i], series.get(i).getElementsByTagName("circle").getLength());
        }
        assertEquals(3, series.get(0).getElementsByTagName("line").getLength(), "one error bar: a line and two caps");
        assertEquals(
                "white",
                ((Element) series.get(1).getElementsByTagName("circle").item(0)).getAttribute("fill"),
                "hollow");
        assertEquals(
                "#4e79a7",
                ((Element) series.get(0).getElementsByTagName("circle").item(0)).getAttribute("fill"),
                "filled");
        Element unseen = (Element) series.get(2).getElementsByTagName("circle").item(0);
        assertEquals("white", unseen.getAttribute("fill"));
        assertEquals("#4e79a7", unseen.getAttribute("stroke"), "the given color: the seen series' hollow twin");

        String path = series.get(0)
                .getElementsByTagName("path")
                .item(0)
                .getAttributes()
                .getNamedItem("d")
                .getNodeValue();
        String[] xs = path.replace("M", "").split(" L");
        for (int i = 1; i < xs.length; i++) {
            assertTrue(
                    Double.parseDouble(xs[i].trim().split(" ")[0])
                            > Double.parseDouble(xs[i - 1].trim().split(" ")[0]),
                    "joined in x order: " + path);
        }
    }

    @Test
    void legendAndTitleAreEscaped() throws Exception {
        String text = sample().toSvg();
        assertTrue(text.contains("QLoRA &quot;per config&quot; &amp; &lt;co&gt;"), "escaped in the markup");
        Element svg = parse(text).getDocumentElement();
        List<String> names = byClass(svg, "text", "legend-name").stream()
                .map(Element::getTextContent)
                .toList();
        assertEquals(List.of("CoA-LoRA (seen)", "QLoRA \"per config\" & <co>", "unseen"), names);
        assertEquals(3, byClass(svg, "g", "legend-entry").size());
        assertEquals(
                "MiniLM <SST-2> & friends", byClass(svg, "text", "title").get(0).getTextContent());
        assertEquals(
                "average bits per weight",
                byClass(svg, "text", "label x").get(0).getTextContent());
        assertEquals("test accuracy", byClass(svg, "text", "label y").get(0).getTextContent());
        assertEquals("a\tb", SvgPlot.escape("a\u0001\tb\u0000"), "control characters XML cannot hold are dropped");
    }

    @Test
    void tickLabelsLieWithinTheDataRangeAndThePlotArea() throws Exception {
        Element svg = parse(sample().toSvg()).getDocumentElement();
        List<Element> xTicks = byClass(svg, "text", "tick x"), yTicks = byClass(svg, "text", "tick y");
        assertTrue(xTicks.size() >= 3 && yTicks.size() >= 3, xTicks.size() + " / " + yTicks.size());
        for (Element tick : xTicks) {
            double value = Double.parseDouble(tick.getTextContent());
            assertTrue(value >= 2.5 - 0.1 && value <= 4 + 0.1, "x tick " + value);
            double px = Double.parseDouble(tick.getAttribute("x"));
            assertTrue(px >= 70 && px <= 620, "inside the plot: " + px);
        }
        for (Element tick : yTicks) {
            double value = Double.parseDouble(tick.getTextContent());
            assertTrue(value >= 0.80 - 0.01 && value <= 0.90 + 0.01, "y tick " + value);
        }
    }

    @Test
    void axesGetNiceTicksInsideTheirRange() {
        for (double[] data :
                new double[][] {{0.81, 0.93}, {2, 8}, {-3.2, 117}, {1e-4, 3e-4}, {0.5, 0.5}, {0, 0}, {-7, -7}}) {
            Axis axis = Axis.fit(data);
            assertTrue(axis.min() < data[0] && axis.max() > data[data.length - 1], "padded: " + axis);
            List<Double> ticks = axis.ticks();
            assertTrue(ticks.size() >= 3 && ticks.size() <= 9, axis + " " + ticks);
            for (double tick : ticks) {
                assertTrue(tick >= axis.min() && tick <= axis.max(), tick + " outside " + axis);
                double units = tick / axis.step();
                assertEquals(Math.rint(units), units, 1e-9, "a multiple of the step");
            }
            double mantissa = axis.step() / Math.pow(10, Math.floor(Math.log10(axis.step()) + 1e-12));
            assertTrue(
                    List.of(1.0, 2.0, 5.0).stream().anyMatch(m -> Math.abs(m - mantissa) < 1e-9),
                    "nice step " + axis.step());
        }
        assertEquals("0.85", Axis.fit(new double[] {0.81, 0.93}).label(0.85));
    }

    @Test
    void aSinglePointAndEqualValuesNeedNoDivisionByZero() throws Exception {
        for (SvgPlot plot : List.of(
                SvgPlot.builder().series("one", List.of(Point.of(3, 0.5)), true).build(),
                SvgPlot.builder()
                        .series("flat", List.of(Point.of(2, 0.7), Point.of(3, 0.7), Point.of(4, 0.7)), true)
                        .build())) {
            String svg = plot.toSvg();
            assertFalse(svg.contains("NaN") || svg.contains("Infinity"), svg);
            parse(svg);
        }
    }

    @Test
    void rejectsUnplottableInput() {
        assertThrows(IllegalArgumentException.class, () -> SvgPlot.builder().build());
        assertThrows(IllegalArgumentException.class, () -> SvgPlot.builder().series("empty", List.of(), true));
        assertThrows(IllegalArgumentException.class, () -> Point.of(Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> new Point(1, 0.5, 0.6, 0.7));
    }
}
