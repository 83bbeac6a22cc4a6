package ai.coalora.fleet.sim;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A parsed /q/metrics answer (the Prometheus text format): the samples and the declared type of each metric family. */
public record PrometheusScrape(String text, List<PrometheusScrape.Sample> samples, Map<String, String> types) {
    /** One sample: a metric name, its labels and its value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    /** Plain HTTP/1.1 (no upgrade dance), shared: a scrape is one short request. */
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /** Reads a service's metrics ({@code serviceUrl}/q/metrics); an IOException while it is away or silent for 30 s. */
    public static PrometheusScrape fetch(String serviceUrl) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(serviceUrl + "/q/metrics"))
                .timeout(Duration.ofSeconds(30))
                .build();
        HttpResponse<String> r;
        try {
            // a hard bound on the whole exchange, whatever state the connection is in
            r = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).get(40, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(serviceUrl + "/q/metrics: no answer in 40 s", e);
        }
        if (r.statusCode() != 200) throw new IOException(serviceUrl + "/q/metrics: HTTP " + r.statusCode());
        return parse(r.body());
    }

    public List<Sample> samples(String metric, Map<String, String> labels) {
        return samples.stream()
                .filter(x -> x.name().equals(metric) && x.labels().entrySet().containsAll(labels.entrySet()))
                .toList();
    }

    public double sum(String metric, Map<String, String> labels) {
        return samples(metric, labels).stream().mapToDouble(Sample::value).sum();
    }

    /** The one sample of {@code metric} with {@code labels} (among others); fails if there is none or several. */
    public double value(String metric, Map<String, String> labels) {
        List<Sample> found = samples(metric, labels);
        if (found.size() != 1)
            throw new IllegalStateException(found.size() + " samples of " + metric + labels + " in\n" + text);
        return found.get(0).value();
    }

    /** The type of the family a sample belongs to (its name, or its name less a suffix such as _total). */
    public String typeOf(String sample) {
        for (String suffix : List.of("", "_total", "_count", "_sum", "_bucket", "_max", "_created")) {
            if (sample.endsWith(suffix) && types.containsKey(sample.substring(0, sample.length() - suffix.length()))) {
                return types.get(sample.substring(0, sample.length() - suffix.length()));
            }
        }
        return null;
    }

    /** The Prometheus text exposition format: {@code # TYPE name type} lines and {@code name{label="value",...} value [timestamp]}. */
    public static PrometheusScrape parse(String text) {
        List<Sample> samples = new ArrayList<>();
        Map<String, String> types = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) continue;
            if (line.startsWith("#")) {
                String[] p = line.split(" ");
                if (p.length >= 4 && p[1].equals("TYPE")) types.put(p[2], p[3]);
                continue;
            }
            int i = 0;
            while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') i++;
            String metric = line.substring(0, i);
            Map<String, String> labels = new LinkedHashMap<>();
            if (i < line.length() && line.charAt(i) == '{') {
                i++;
                while (line.charAt(i) != '}') {
                    int eq = line.indexOf('=', i);
                    String key = line.substring(i, eq).trim();
                    i = eq + 2; // past ="
                    StringBuilder value = new StringBuilder();
                    while (line.charAt(i) != '"') {
                        char ch = line.charAt(i++);
                        if (ch == '\\') {
                            char next = line.charAt(i++);
                            value.append(next == 'n' ? '\n' : next);
                        } else {
                            value.append(ch);
                        }
                    }
                    i++; // closing quote
                    if (line.charAt(i) == ',') i++;
                    labels.put(key, value.toString());
                }
                i++;
            }
            String v = line.substring(i).trim().split(" ")[0];
            double value = switch (v) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(v);
            };
            samples.add(new Sample(metric, labels, value));
        }
        return new PrometheusScrape(text, samples, types);
    }
}
