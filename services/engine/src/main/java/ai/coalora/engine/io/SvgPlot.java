package ai.coalora.engine.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.DoubleStream;

/**
 * A self-contained SVG line chart (accuracy against average bits per weight, one line per method), so that
 * result figures come out of the Java pipeline without a plotting stack. Markers are filled or hollow per
 * series, e.g. configurations seen in training against unseen ones; optional vertical error bars show
 * confidence intervals.
 *
 * <pre>{@code
 * SvgPlot.builder().title("MiniLM on SST-2").series("CoA-LoRA", points, true).build().write(path);
 * }</pre>
 */
public final class SvgPlot {
    /** One data point; {@code yLow..yHigh} is its error bar (none when both equal y). */
    public record Point(double x, double y, double yLow, double yHigh) {
        public Point {
            if (!Double.isFinite(x) || !Double.isFinite(y) || !Double.isFinite(yLow) || !Double.isFinite(yHigh)) {
                throw new IllegalArgumentException(
                        "point coordinates must be finite: " + x + ", " + y + " [" + yLow + ", " + yHigh + "]");
            }
            if (yLow > y || y > yHigh)
                throw new IllegalArgumentException("error bar [" + yLow + ", " + yHigh + "] does not contain y = " + y);
        }

        public static Point of(double x, double y) {
            return new Point(x, y, y, y);
        }
    }

    /** A named line; {@code color} is a CSS color. */
    public record Series(String name, List<Point> points, boolean filled, String color) {
        public Series {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(color, "color");
            points =
                    points.stream().sorted(Comparator.comparingDouble(Point::x)).toList(); // lines join in x order
            if (points.isEmpty()) throw new IllegalArgumentException("series '" + name + "' has no points");
        }
    }

    /** Tableau 10: distinct hues that stay apart for color-blind readers and in grayscale print. */
    private static final String[] PALETTE = {
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"
    };

    private static final int WIDTH = 640, HEIGHT = 420; // the plot including axes, without the legend
    private static final int LEFT = 70, RIGHT = 20, TOP = 50, BOTTOM = 60;
    private static final double CHAR_WIDTH = 7.5; // rough width of a 13px sans-serif character
    private static final double MARKER_RADIUS = 4;

    private final String title, xLabel, yLabel;
    private final List<Series> series;

    private SvgPlot(String title, String xLabel, String yLabel, List<Series> series) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.series = List.copyOf(series);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private String title = "", xLabel = "average bits per weight", yLabel = "test accuracy";
        private final List<Series> series = new ArrayList<>();

        public Builder title(String title) {
            this.title = Objects.requireNonNull(title);
            return this;
        }

        public Builder xLabel(String label) {
            this.xLabel = Objects.requireNonNull(label);
            return this;
        }

        public Builder yLabel(String label) {
            this.yLabel = Objects.requireNonNull(label);
            return this;
        }

        /** A series colored by its position in the palette. */
        public Builder series(String name, List<Point> points, boolean filled) {
            return series(name, points, filled, PALETTE[series.size() % PALETTE.length]);
        }

        /** A series with a given color, e.g. the same color filled and hollow for one method's seen / unseen points. */
        public Builder series(String name, List<Point> points, boolean filled, String color) {
            series.add(new Series(name, points, filled, color));
            return this;
        }

        public SvgPlot build() {
            if (series.isEmpty()) throw new IllegalArgumentException("a plot needs at least one series");
            return new SvgPlot(title, xLabel, yLabel, series);
        }
    }

    public void write(Path file) throws IOException {
        AtomicFiles.write(file, toSvg().getBytes(StandardCharsets.UTF_8));
    }

    public String toSvg() {
        Axis x = Axis.fit(series.stream()
                .flatMap(s -> s.points().stream())
                .mapToDouble(Point::x)
                .toArray());
        Axis y = Axis.fit(series.stream()
                .flatMap(s -> s.points().stream())
                .flatMapToDouble(p -> DoubleStream.of(p.yLow(), p.yHigh()))
                .toArray());
        double plotWidth = WIDTH - LEFT - RIGHT, plotHeight = HEIGHT - TOP - BOTTOM;
        int longestName = series.stream().mapToInt(s -> s.name().length()).max().orElse(0);
        double legendWidth = 50 + longestName * CHAR_WIDTH;
        Canvas canvas = new Canvas(LEFT, TOP, plotWidth, plotHeight, x, y);

        StringBuilder svg = new StringBuilder();
        svg.append(String.format(
                Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%d\" "
                        + "viewBox=\"0 0 %.0f %d\" font-family=\"sans-serif\" font-size=\"13\">%n",
                WIDTH + legendWidth,
                HEIGHT,
                WIDTH + legendWidth,
                HEIGHT));
        svg.append(String.format(Locale.ROOT, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"));
        text(
                svg,
                "title",
                LEFT + plotWidth / 2,
                TOP / 2.0 + 5,
                "middle",
                "font-size=\"16\" font-weight=\"bold\"",
                title);
        drawAxes(svg, canvas);
        for (Series s : series) drawSeries(svg, canvas, s);
        drawLegend(svg, WIDTH, TOP);
        return svg.append("</svg>\n").toString();
    }

    private void drawAxes(StringBuilder svg, Canvas c) {
        svg.append("<g class=\"axes\" stroke-width=\"1\">\n");
        for (double tick : c.x.ticks()) {
            double px = c.px(tick);
            line(svg, px, c.top, px, c.top + c.height, "#e6e6e6");
            line(svg, px, c.top + c.height, px, c.top + c.height + 5, "black");
            text(svg, "tick x", px, c.top + c.height + 20, "middle", "", c.x.label(tick));
        }
        for (double tick : c.y.ticks()) {
            double py = c.py(tick);
            line(svg, c.left, py, c.left + c.width, py, "#e6e6e6");
            line(svg, c.left - 5, py, c.left, py, "black");
            text(svg, "tick y", c.left - 8, py + 4, "end", "", c.y.label(tick));
        }
        svg.append(String.format(
                Locale.ROOT,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>%n",
                c.left,
                c.top,
                c.width,
                c.height));
        text(svg, "label x", c.left + c.width / 2, HEIGHT - 15, "middle", "", xLabel);
        double labelX = 18, labelY = c.top + c.height / 2;
        text(
                svg,
                "label y",
                labelX,
                labelY,
                "middle",
                String.format(Locale.ROOT, "transform=\"rotate(-90 %.2f %.2f)\"", labelX, labelY),
                yLabel);
        svg.append("</g>\n");
    }

    private static void drawSeries(StringBuilder svg, Canvas c, Series s) {
        svg.append("<g class=\"series\" data-name=\"").append(escape(s.name())).append("\">\n");
        StringBuilder path = new StringBuilder();
        for (Point p : s.points()) {
            path.append(path.length() == 0 ? "M" : " L")
                    .append(String.format(Locale.ROOT, "%.2f %.2f", c.px(p.x()), c.py(p.y())));
        }
        svg.append("<path d=\"")
                .append(path)
                .append("\" fill=\"none\" stroke=\"")
                .append(escape(s.color()))
                .append("\" stroke-width=\"2\"/>\n");
        for (Point p : s.points()) {
            if (p.yLow() == p.yHigh()) continue;
            double px = c.px(p.x()), low = c.py(p.yLow()), high = c.py(p.yHigh());
            line(svg, px, low, px, high, s.color());
            line(svg, px - 3, low, px + 3, low, s.color());
            line(svg, px - 3, high, px + 3, high, s.color());
        }
        for (Point p : s.points()) marker(svg, c.px(p.x()), c.py(p.y()), s);
        svg.append("</g>\n");
    }

    private void drawLegend(StringBuilder svg, double left, double top) {
        svg.append("<g class=\"legend\">\n");
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            double y = top + 10 + i * 20;
            svg.append("<g class=\"legend-entry\">\n");
            line(svg, left, y, left + 24, y, s.color());
            marker(svg, left + 12, y, s);
            text(svg, "legend-name", left + 32, y + 4, "start", "", s.name());
            svg.append("</g>\n");
        }
        svg.append("</g>\n");
    }

    private static void marker(StringBuilder svg, double x, double y, Series s) {
        svg.append(String.format(
                Locale.ROOT,
                "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>%n",
                x,
                y,
                MARKER_RADIUS,
                s.filled() ? escape(s.color()) : "white",
                escape(s.color())));
    }

    private static void line(StringBuilder svg, double x1, double y1, double x2, double y2, String color) {
        svg.append(String.format(
                Locale.ROOT,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"/>%n",
                x1,
                y1,
                x2,
                y2,
                escape(color)));
    }

    private static void text(
            StringBuilder svg, String cssClass, double x, double y, String anchor, String extra, String content) {
        svg.append(String.format(
                        Locale.ROOT,
                        "<text class=\"%s\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\"%s>",
                        cssClass,
                        x,
                        y,
                        anchor,
                        extra.isEmpty() ? "" : " " + extra))
                .append(escape(content))
                .append("</text>\n");
    }

    /** XML-escapes text; drops control characters, which XML 1.0 cannot hold at all. */
    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char ch : text.toCharArray()) {
            switch (ch) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> {
                    if (ch >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r') out.append(ch);
                }
            }
        }
        return out.toString();
    }

    /** Data coordinates to pixels; y grows upward in the data, downward in SVG. */
    private record Canvas(double left, double top, double width, double height, Axis x, Axis y) {
        double px(double value) {
            return left + (value - x.min()) / (x.max() - x.min()) * width;
        }

        double py(double value) {
            return top + height - (value - y.min()) / (y.max() - y.min()) * height;
        }
    }

    /** One axis' range (data range plus 5% padding, never empty) and its "nice" tick step (1, 2 or 5 x 10^k). */
    record Axis(double min, double max, double step) {
        private static final int TARGET_TICKS = 6;

        static Axis fit(double[] values) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (double v : values) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            double span = hi - lo;
            // A single value or equal values still need a non-empty range (and no division by zero).
            double pad = span > 0 ? 0.05 * span : (lo != 0 ? 0.05 * Math.abs(lo) : 1);
            double min = lo - pad, max = hi + pad;
            return new Axis(min, max, niceStep((max - min) / (TARGET_TICKS - 1)));
        }

        /** The nearest of 1, 2, 5, 10 (times a power of ten) to {@code raw}, so there are about TARGET_TICKS. */
        static double niceStep(double raw) {
            double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
            double fraction = raw / magnitude;
            double nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
            return nice * magnitude;
        }

        /** Multiples of the step inside the range, computed from integers so they do not drift. */
        List<Double> ticks() {
            List<Double> ticks = new ArrayList<>();
            for (long k = (long) Math.ceil(min / step); k * step <= max; k++) {
                double tick = k * step;
                if (tick >= min) ticks.add(tick);
            }
            return ticks;
        }

        /** Just enough decimals to tell ticks apart: 0.05 steps get two, 0.5 one, 5 none. */
        String label(double tick) {
            int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
            return String.format(Locale.ROOT, "%." + decimals + "f", tick);
        }
    }
}
