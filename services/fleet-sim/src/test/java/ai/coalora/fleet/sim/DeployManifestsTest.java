package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.coalora.fleet.events.ServiceTopics;
import ai.coalora.fleet.events.Topic;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cluster manifests under {@code deploy/k8s} and the Grafana dashboard under {@code deploy/grafana}, checked
 * against the code they deploy: the topics of {@link Topic}, the Kafka users and ACLs of {@link ServiceTopics}, the
 * services of {@link FleetStack#SERVICES}, the
 * variables each service's application.properties reads, and the metric names the services export. No cluster
 * is needed; every failure lists all the problems it found, each naming the file and resource.
 */
class DeployManifestsTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NAMESPACE = "coalora";
    static final String IMAGE = "ghcr.io/coalora/%s:0.1.0";
    static final String LIVE = "/q/health/live";
    static final String READY = "/q/health/ready";
    static final Set<String> CLUSTER_SCOPED = Set.of(
            "Namespace",
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
            "PersistentVolume",
            "StorageClass",
            "PriorityClass",
            "IngressClass");
    /** Services that scale out as consumer groups, with a HorizontalPodAutoscaler. */
    static final Set<String> AUTOSCALED = Set.of("planner", "adapter-generator");
    /** Read by the JVM itself, not by the application: allowed in every Deployment. */
    static final Set<String> JVM_VARIABLES = Set.of("JAVA_TOOL_OPTIONS");

    /** The keys of the Secret Strimzi's User Operator makes for a SCRAM-SHA-512 KafkaUser. */
    static final Set<String> KAFKA_USER_SECRET_KEYS = Set.of("password", "sasl.jaas.config");

    static final String USERS_FILE = "/etc/coalora/users";
    static final String SERVICE_CREDENTIALS = "coalora-service-credentials";
    /** Library modules whose System.getenv reads count for every service. */
    static final List<String> LIBRARIES = List.of("services/fleet-core", "services/fleet-schemas", "services/engine");

    /** The metrics contract: name -> its labels (and, where fixed, a label's values). */
    static final Map<String, Map<String, Set<String>>> METRICS = new LinkedHashMap<>();

    static {
        METRICS.put(
                "coalora_events_processed_total",
                labels("service", null, "topic", null, "outcome", Set.of("applied", "duplicate", "dead_lettered")));
        METRICS.put("coalora_consumer_lag_records", labels("service", null, "topic", null));
        METRICS.put("coalora_planner_decisions_total", labels("outcome", Set.of("feasible", "infeasible")));
        METRICS.put("coalora_adapters_generated_total", labels());
        METRICS.put("coalora_rollouts", labels("state", null));
        METRICS.put("coalora_devices", labels("status", null));
        METRICS.put("coalora_telemetry_accuracy", labels("bit_segment", null));
        METRICS.put("coalora_telemetry_perplexity", labels("bit_segment", null));
        METRICS.put("coalora_telemetry_reports_total", labels());
        METRICS.put("coalora_retraining_requests_total", labels("trigger", Set.of("quality", "coverage")));
    }

    static final List<String> STANDARD_METRICS = List.of("http_server_requests_seconds_count", "jvm_memory_used_bytes");

    static Path root;
    static Path k8s;
    static List<Doc> docs;
    static JsonNode kustomization;

    record Doc(Path file, int index, JsonNode node) {
        String kind() {
            return node.path("kind").asText("");
        }

        String name() {
            return node.path("metadata").path("name").asText("");
        }

        String where() {
            return root.relativize(file) + " #" + (index + 1) + " (" + kind() + " " + name() + ")";
        }
    }

    /** Collects problems, fails once with all of them. */
    static final class Problems {
        final List<String> list = new ArrayList<>();

        void add(String problem) {
            list.add(problem);
        }

        void check(boolean ok, String problem) {
            if (!ok) list.add(problem);
        }

        void assertNone(String what) {
            assertTrue(
                    list.isEmpty(),
                    () -> what + ": " + list.size() + " problem(s)\n  - " + String.join("\n  - ", list));
        }
    }

    @BeforeAll
    static void load() throws IOException {
        root = FleetStack.repositoryRoot();
        k8s = root.resolve("deploy/k8s");
        assertTrue(Files.isDirectory(k8s), "no directory " + k8s);
        docs = new ArrayList<>();
        for (Path f : yamlFiles()) {
            if (f.getFileName().toString().startsWith("kustomization.")) {
                kustomization = YAML.readTree(f.toFile());
                continue;
            }
            int i = 0;
            try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                while (it.hasNext()) {
                    JsonNode n = it.next();
                    if (n == null || n.isNull() || n.isMissingNode()) continue; // an empty document (comments only)
                    docs.add(new Doc(f, i++, n));
                }
            } catch (IOException e) {
                fail(root.relativize(f) + " is not valid YAML: " + e.getMessage());
            }
        }
        assertTrue(kustomization != null, "deploy/k8s has no kustomization.yaml");
        // the ConfigMaps kustomize generates from files: their keys are the file names, and each file must exist
        int generated = 0;
        for (JsonNode g : kustomization.path("configMapGenerator")) {
            ObjectNode cm = YAML.createObjectNode().put("apiVersion", "v1").put("kind", "ConfigMap");
            cm.putObject("metadata")
                    .put("name", g.path("name").asText())
                    .put("namespace", kustomization.path("namespace").asText());
            ObjectNode data = cm.putObject("data");
            for (JsonNode f : g.path("files")) {
                Path file = k8s.resolve(f.asText());
                assertTrue(
                        Files.isRegularFile(file),
                        "configMapGenerator " + g.path("name").asText() + ": no file " + f);
                data.put(file.getFileName().toString(), Files.readString(file));
            }
            docs.add(new Doc(k8s.resolve("kustomization.yaml"), generated++, cm));
        }
    }

    static List<Path> yamlFiles() throws IOException {
        try (Stream<Path> s = Files.walk(k8s)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted()
                    .toList();
        }
    }

    @Test
    void everyDocumentIsANamedResourceInNamespaceCoalora() throws IOException {
        Problems p = new Problems();
        Set<String> seen = new HashSet<>();
        Map<Path, Integer> perFile = new HashMap<>();
        for (Doc d : docs) {
            perFile.merge(d.file(), 1, Integer::sum);
            p.check(!d.node().path("apiVersion").asText("").isBlank(), d.where() + ": no apiVersion");
            p.check(!d.kind().isBlank(), d.where() + ": no kind");
            p.check(!d.name().isBlank(), d.where() + ": no metadata.name");
            p.check(
                    d.name().length() <= 253 && d.name().matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?"),
                    d.where() + ": metadata.name '" + d.name()
                            + "' is not a valid Kubernetes name (lower case, digits, '-', '.')");
            String ns = d.node().path("metadata").path("namespace").asText(null);
            if (CLUSTER_SCOPED.contains(d.kind())) {
                p.check(ns == null, d.where() + ": a cluster-scoped " + d.kind() + " has a namespace");
            } else {
                p.check(NAMESPACE.equals(ns), d.where() + ": metadata.namespace is " + ns + ", expected " + NAMESPACE);
            }
            p.check(seen.add(d.kind() + "/" + d.name()), d.where() + ": a second " + d.kind() + " named " + d.name());
        }
        p.check(
                docs.stream()
                        .anyMatch(d -> d.kind().equals("Namespace") && d.name().equals(NAMESPACE)),
                "no Namespace " + NAMESPACE);
        for (Path f : yamlFiles()) {
            if (!f.getFileName().toString().startsWith("kustomization.")) {
                p.check(perFile.getOrDefault(f, 0) > 0, root.relativize(f) + " holds no resource");
            }
        }
        p.assertNone("deploy/k8s resources");
    }

    @Test
    void kustomizationListsExactlyTheFilesPresent() throws IOException {
        Problems p = new Problems();
        p.check(
                "kustomize.config.k8s.io/v1beta1"
                        .equals(kustomization.path("apiVersion").asText()),
                "kustomization.yaml: apiVersion is not kustomize.config.k8s.io/v1beta1");
        p.check(
                "Kustomization".equals(kustomization.path("kind").asText()),
                "kustomization.yaml: kind is not Kustomization");
        p.check(
                NAMESPACE.equals(kustomization.path("namespace").asText(null)),
                "kustomization.yaml: namespace is not " + NAMESPACE);
        List<String> listed = new ArrayList<>();
        kustomization.path("resources").forEach(r -> listed.add(r.asText()));
        Set<String> present = new TreeSet<>();
        for (Path f : yamlFiles()) {
            if (!f.getFileName().toString().startsWith("kustomization."))
                present.add(k8s.relativize(f).toString().replace('\\', '/'));
        }
        Set<String> listedSet = new TreeSet<>(listed);
        p.check(listed.size() == listedSet.size(), "kustomization.yaml lists a file twice: " + listed);
        for (String f : present)
            p.check(
                    listedSet.contains(f),
                    "kustomization.yaml does not list " + f + " (kubectl apply -k would skip it)");
        for (String f : listedSet)
            p.check(present.contains(f), "kustomization.yaml lists " + f + ", which is not in deploy/k8s");
        p.assertNone("deploy/k8s/kustomization.yaml");
    }

    @Test
    void kafkaIsAStrimziKraftClusterOfThreeNodes() {
        Problems p = new Problems();
        Doc kafka = kafka();
        p.check(
                "kafka.strimzi.io/v1beta2"
                        .equals(kafka.node().path("apiVersion").asText()),
                kafka.where() + ": apiVersion is not kafka.strimzi.io/v1beta2");
        p.check(
                kafka.node().path("spec").path("zookeeper").isMissingNode(),
                kafka.where() + ": has spec.zookeeper; the cluster runs in KRaft mode");
        List<Doc> pools = ofKind("KafkaNodePool").stream()
                .filter(d -> kafka.name()
                        .equals(d.node()
                                .path("metadata")
                                .path("labels")
                                .path("strimzi.io/cluster")
                                .asText()))
                .toList();
        p.check(!pools.isEmpty(), "no KafkaNodePool labelled strimzi.io/cluster: " + kafka.name());
        int brokers = 0;
        boolean controllers = false;
        for (Doc pool : pools) {
            p.check(
                    "kafka.strimzi.io/v1beta2"
                            .equals(pool.node().path("apiVersion").asText()),
                    pool.where() + ": apiVersion is not kafka.strimzi.io/v1beta2");
            Set<String> roles = texts(pool.node().path("spec").path("roles"));
            int replicas = pool.node().path("spec").path("replicas").asInt();
            if (roles.contains("broker")) brokers += replicas;
            if (roles.contains("controller")) controllers = true;
            p.check(pool.node().path("spec").has("storage"), pool.where() + ": no storage");
        }
        p.check(brokers == 3, "the node pools of " + kafka.where() + " have " + brokers + " brokers, expected 3");
        p.check(controllers, "no node pool of " + kafka.where() + " has the controller role (KRaft)");
        JsonNode config = kafka.node().path("spec").path("kafka").path("config");
        p.check(
                "2".equals(config.path("min.insync.replicas").asText()),
                kafka.where() + ": min.insync.replicas is not 2");
        p.check(
                "false".equals(config.path("auto.create.topics.enable").asText()),
                kafka.where() + ": auto.create.topics.enable is not false");
        p.check(plainListenerPort(kafka) > 0, kafka.where() + ": no internal listener without TLS for the services");
        for (JsonNode l : kafka.node().path("spec").path("kafka").path("listeners")) {
            p.check(
                    "scram-sha-512".equals(l.path("authentication").path("type").asText()),
                    kafka.where() + ": listener " + l.path("name").asText()
                            + " does not authenticate clients with scram-sha-512");
        }
        p.check(
                "simple"
                        .equals(kafka.node()
                                .path("spec")
                                .path("kafka")
                                .path("authorization")
                                .path("type")
                                .asText()),
                kafka.where() + ": spec.kafka.authorization is not simple: the KafkaUsers' ACLs would not be enforced");
        p.check(
                !"true"
                        .equals(kafka.node()
                                .path("spec")
                                .path("kafka")
                                .path("config")
                                .path("allow.everyone.if.no.acl.found")
                                .asText()),
                kafka.where() + ": allow.everyone.if.no.acl.found is true");
        p.check(
                kafka.node().path("spec").path("entityOperator").has("userOperator"),
                kafka.where() + ": no userOperator: the KafkaUser resources would be ignored");
        p.check(
                kafka.node().path("spec").path("entityOperator").has("topicOperator"),
                kafka.where() + ": no topicOperator: the KafkaTopic resources would be ignored");
        p.assertNone("Kafka (Strimzi)");
    }

    @Test
    void everyTopicAndItsDeadLetterTwinIsAKafkaTopicWithTheSettingsOfTheCode() {
        Problems p = new Problems();
        String cluster = kafka().name();
        Map<String, Doc> byTopic = new HashMap<>();
        for (Doc d : ofKind("KafkaTopic")) {
            String topic = d.node().path("spec").path("topicName").asText(d.name());
            p.check(byTopic.put(topic, d) == null, d.where() + ": a second KafkaTopic for " + topic);
            p.check(
                    "kafka.strimzi.io/v1beta2"
                            .equals(d.node().path("apiVersion").asText()),
                    d.where() + ": apiVersion is not kafka.strimzi.io/v1beta2");
            p.check(
                    cluster.equals(d.node()
                            .path("metadata")
                            .path("labels")
                            .path("strimzi.io/cluster")
                            .asText()),
                    d.where() + ": label strimzi.io/cluster is not " + cluster
                            + " (the topic operator would not create it)");
        }
        Set<String> expected = new LinkedHashSet<>();
        for (Topic t : Topic.ALL) {
            for (Topic topic : List.of(t, t.deadLetter())) {
                expected.add(topic.name());
                Doc d = byTopic.get(topic.name());
                if (d == null) {
                    p.add("no KafkaTopic for " + topic.name() + " (partitions " + topic.partitions() + ", configs "
                            + topic.configs() + ")");
                    continue;
                }
                JsonNode spec = d.node().path("spec");
                p.check(
                        spec.path("partitions").asInt() == topic.partitions(),
                        d.where() + ": partitions " + spec.path("partitions").asText() + ", the code creates "
                                + topic.name() + " with " + topic.partitions());
                int replicas = spec.path("replicas").asInt();
                p.check(
                        replicas == 3,
                        d.where() + ": replicas " + spec.path("replicas").asText() + ", expected 3");
                JsonNode config = spec.path("config");
                Set<String> keys = new TreeSet<>();
                config.fieldNames().forEachRemaining(keys::add);
                p.check(
                        keys.equals(new TreeSet<>(topic.configs().keySet())),
                        d.where() + ": config keys " + keys + ", the code's are "
                                + new TreeSet<>(topic.configs().keySet()));
                for (Map.Entry<String, String> c : topic.configs().entrySet()) {
                    String actual = config.path(c.getKey()).asText(null);
                    if (c.getKey().equals("min.insync.replicas")) {
                        // the code's 1 is for one local broker; in the cluster 2 of 3 replicas
                        p.check(
                                "2".equals(actual),
                                d.where() + ": min.insync.replicas " + actual + ", expected 2 (of replicas 3)");
                    } else {
                        p.check(
                                c.getValue().equals(actual),
                                d.where() + ": " + c.getKey() + " is " + actual + ", Topic.configs() says "
                                        + c.getValue());
                    }
                }
            }
        }
        for (String topic : byTopic.keySet()) {
            p.check(
                    expected.contains(topic),
                    byTopic.get(topic).where() + ": " + topic + " is not a topic of Topic.ALL or a dead-letter twin");
        }
        p.assertNone("KafkaTopic resources against ai.coalora.fleet.events.Topic");
    }

    @Test
    void everyServicePrincipalIsAKafkaUserWithExactlyTheAclsOfServiceTopics() throws IOException {
        Problems p = new Problems();
        String cluster = kafka().name();
        Map<String, Doc> users = new HashMap<>();
        for (Doc d : ofKind("KafkaUser")) users.put(d.name(), d);
        for (ServiceTopics s : ServiceTopics.ALL) {
            Doc u = users.remove(s.principal());
            if (u == null) {
                p.add("no KafkaUser " + s.principal() + " for service " + s.service());
                continue;
            }
            JsonNode spec = u.node().path("spec");
            p.check(
                    "kafka.strimzi.io/v1beta2"
                            .equals(u.node().path("apiVersion").asText()),
                    u.where() + ": apiVersion is not kafka.strimzi.io/v1beta2");
            p.check(
                    cluster.equals(u.node()
                            .path("metadata")
                            .path("labels")
                            .path("strimzi.io/cluster")
                            .asText()),
                    u.where() + ": label strimzi.io/cluster is not " + cluster + " (the user operator would skip it)");
            p.check(
                    "scram-sha-512"
                            .equals(spec.path("authentication").path("type").asText()),
                    u.where() + ": authentication is not scram-sha-512");
            p.check(
                    "simple".equals(spec.path("authorization").path("type").asText()),
                    u.where() + ": authorization is not simple");
            Set<String> expected = new TreeSet<>();
            for (Topic t : s.reads()) expected.add("topic " + t.name() + " Read");
            for (Topic t : s.writes()) expected.add("topic " + t.name() + " Write");
            expected.add("group " + s.group() + " Read");
            Set<String> actual = new TreeSet<>();
            for (JsonNode acl : spec.path("authorization").path("acls")) {
                JsonNode r = acl.path("resource");
                String where = r.path("type").asText() + " " + r.path("name").asText();
                p.check(
                        "literal".equals(r.path("patternType").asText("literal")),
                        u.where() + ": " + where + " is not a literal pattern");
                p.check(
                        "allow".equals(acl.path("type").asText("allow")),
                        u.where() + ": " + where + " is not an allow rule");
                p.check(
                        "*".equals(acl.path("host").asText("*")),
                        u.where() + ": " + where + " is limited to host "
                                + acl.path("host").asText());
                List<String> ops = new ArrayList<>();
                acl.path("operations").forEach(o -> ops.add(o.asText()));
                if (acl.has("operation")) ops.add(acl.path("operation").asText());
                for (String op : ops) actual.add(where + " " + op);
            }
            Set<String> missing = new TreeSet<>(expected);
            missing.removeAll(actual);
            Set<String> extra = new TreeSet<>(actual);
            extra.removeAll(expected);
            p.check(missing.isEmpty(), u.where() + ": lacks ACLs of ServiceTopics: " + missing);
            p.check(extra.isEmpty(), u.where() + ": grants more than ServiceTopics: " + extra);
        }
        for (Doc extra : users.values()) p.add(extra.where() + ": a KafkaUser that is no principal of ServiceTopics");
        p.assertNone("KafkaUser resources against ai.coalora.fleet.events.ServiceTopics");
    }

    static List<String> names(List<Topic> topics) {
        return topics.stream().map(Topic::name).toList();
    }

    @Test
    void everyServiceHasADeploymentAndServiceWithHealthProbesAndMetrics() throws IOException {
        Problems p = new Problems();
        for (String service : FleetStack.SERVICES) {
            Optional<Doc> dep = find("Deployment", service);
            if (dep.isEmpty()) {
                p.add("no Deployment " + service);
                continue;
            }
            Doc d = dep.get();
            JsonNode template = d.node().path("spec").path("template");
            JsonNode podLabels = template.path("metadata").path("labels");
            p.check(
                    matches(d.node().path("spec").path("selector").path("matchLabels"), podLabels),
                    d.where() + ": spec.selector.matchLabels does not match the pod template's labels");
            JsonNode container = container(d, service);
            if (container == null) {
                p.add(d.where() + ": no container");
                continue;
            }
            p.check(
                    String.format(IMAGE, service).equals(container.path("image").asText()),
                    d.where() + ": image " + container.path("image").asText() + ", expected "
                            + String.format(IMAGE, service));
            Map<String, Integer> ports = containerPorts(container);
            p.check(!ports.isEmpty(), d.where() + ": the container declares no port");
            int httpPort = httpPort(service, container);
            p.check(
                    ports.containsValue(httpPort),
                    d.where() + ": the service listens on " + httpPort
                            + " (its *_HTTP_PORT), not a declared container port " + ports.values());
            probe(p, d, container, "livenessProbe", LIVE, ports, httpPort);
            probe(p, d, container, "readinessProbe", READY, ports, httpPort);
            if (container.has("startupProbe")) probe(p, d, container, "startupProbe", LIVE, ports, httpPort);
            JsonNode annotations = template.path("metadata").path("annotations");
            p.check(
                    "true".equals(annotations.path("prometheus.io/scrape").asText()),
                    d.where() + ": pod annotation prometheus.io/scrape is not \"true\"");
            p.check(
                    "/q/metrics".equals(annotations.path("prometheus.io/path").asText()),
                    d.where() + ": pod annotation prometheus.io/path is not /q/metrics");
            p.check(
                    Integer.toString(httpPort)
                            .equals(annotations.path("prometheus.io/port").asText()),
                    d.where() + ": pod annotation prometheus.io/port is "
                            + annotations.path("prometheus.io/port").asText() + ", the HTTP port is " + httpPort);
            for (String kind : List.of("requests", "limits")) {
                for (String r : List.of("cpu", "memory")) {
                    p.check(
                            !container
                                    .path("resources")
                                    .path(kind)
                                    .path(r)
                                    .asText("")
                                    .isBlank(),
                            d.where() + ": no resources." + kind + "." + r);
                }
            }
            Optional<Doc> svc = find("Service", service);
            if (svc.isEmpty()) {
                p.add("no Service " + service + " for Deployment " + service);
                continue;
            }
            Doc s = svc.get();
            p.check(
                    !s.node().path("spec").path("selector").isEmpty()
                            && matches(s.node().path("spec").path("selector"), podLabels),
                    s.where() + ": spec.selector does not select the pods of Deployment " + service);
            for (JsonNode port : s.node().path("spec").path("ports")) {
                JsonNode target = port.path("targetPort").isMissingNode() ? port.path("port") : port.path("targetPort");
                Integer n = target.isInt() ? Integer.valueOf(target.asInt()) : ports.get(target.asText());
                p.check(
                        n != null && ports.containsValue(n),
                        s.where() + ": targetPort " + target.asText() + " is not a declared port of the container");
            }
        }
        p.assertNone("service Deployments and Services");
    }

    @Test
    void deploymentsSetTheVariablesTheirServiceReadsAndNoOthers() throws IOException {
        Problems p = new Problems();
        Map<String, Set<String>> readBy = new HashMap<>();
        for (String service : FleetStack.SERVICES) readBy.put(service, readVariables(service));
        for (String service : FleetStack.SERVICES) {
            Optional<Doc> dep = find("Deployment", service);
            if (dep.isEmpty()) continue; // reported by the Deployment test
            Doc d = dep.get();
            JsonNode container = container(d, service);
            if (container == null) continue;
            Map<String, JsonNode> env = env(container);
            p.check(
                    !container.has("envFrom"),
                    d.where() + ": envFrom hides which variables a service gets; set each with env");
            Set<String> read = readBy.get(service);
            for (String name : env.keySet()) {
                boolean ok = read.contains(name) || JVM_VARIABLES.contains(name);
                p.check(
                        ok,
                        d.where() + ": sets " + name + ", which services/" + service
                                + " does not read (application.properties ${NAME:...}, "
                                + "a property's environment name, or System.getenv)");
            }
            Map<String, String> placeholders = placeholders(service);
            for (Map.Entry<String, String> ph : placeholders.entrySet()) {
                String def = ph.getValue();
                boolean needed = def == null
                        || def.contains("127.0.0.1")
                        || def.contains("localhost")
                        || def.contains("${user.home}");
                if (needed) {
                    p.check(
                            env.containsKey(ph.getKey()),
                            d.where() + ": does not set " + ph.getKey() + ", whose default "
                                    + (def == null ? "is missing" : "'" + def + "' does not work in a pod"));
                }
            }
            for (String required : List.of(
                    "KAFKA_BOOTSTRAP_SERVERS",
                    "KAFKA_SASL_USERNAME",
                    "KAFKA_SASL_PASSWORD",
                    "COALORA_JDBC_URL",
                    "COALORA_JDBC_USER",
                    "COALORA_JDBC_PASSWORD")) {
                p.check(env.containsKey(required), d.where() + ": does not set " + required);
            }
            // the service logs in to Kafka as its own KafkaUser, with the password the User Operator keeps in its
            // Secret
            String principal =
                    ServiceTopics.of(service).map(ServiceTopics::principal).orElse(null);
            p.check(
                    principal != null && principal.equals(value(env.get("KAFKA_SASL_USERNAME"))),
                    d.where() + ": KAFKA_SASL_USERNAME is " + value(env.get("KAFKA_SASL_USERNAME"))
                            + ", not its Kafka principal " + principal);
            JsonNode kafkaPassword = env.getOrDefault("KAFKA_SASL_PASSWORD", YAML.createObjectNode())
                    .path("valueFrom")
                    .path("secretKeyRef");
            p.check(
                    principal != null
                            && principal.equals(kafkaPassword.path("name").asText())
                            && "password".equals(kafkaPassword.path("key").asText())
                            && find("KafkaUser", principal).isPresent(),
                    d.where() + ": KAFKA_SASL_PASSWORD does not come from key password of the Secret of KafkaUser "
                            + principal);
            for (String secret : List.of("COALORA_JDBC_URL", "COALORA_JDBC_USER", "COALORA_JDBC_PASSWORD")) {
                if (env.containsKey(secret)) {
                    p.check(
                            env.get(secret).path("valueFrom").has("secretKeyRef"),
                            d.where() + ": " + secret + " does not come from a Secret");
                }
            }
            // the host Quarkus binds: 127.0.0.1 in application.properties is unreachable for probes and Services
            String host = properties(service).getProperty("quarkus.http.host", "0.0.0.0");
            if (host.equals("127.0.0.1") || host.equals("localhost")) {
                p.check(
                        env.containsKey("QUARKUS_HTTP_HOST") && "0.0.0.0".equals(value(env.get("QUARKUS_HTTP_HOST"))),
                        d.where() + ": application.properties binds " + host
                                + "; set QUARKUS_HTTP_HOST=0.0.0.0 or probes and the Service cannot reach it");
            }
            // where the values point
            Doc kafka = kafka();
            if (env.containsKey("KAFKA_BOOTSTRAP_SERVERS")) {
                String bootstrap = value(env.get("KAFKA_BOOTSTRAP_SERVERS"));
                String expected = kafka.name() + "-kafka-bootstrap";
                p.check(
                        bootstrap != null
                                && bootstrap.matches(Pattern.quote(expected) + "(\\." + NAMESPACE
                                        + "(\\.svc(\\.cluster\\.local)?)?)?:" + plainListenerPort(kafka)),
                        d.where() + ": KAFKA_BOOTSTRAP_SERVERS is " + bootstrap + ", not Strimzi's bootstrap Service "
                                + expected + ":" + plainListenerPort(kafka));
            }
            if (env.containsKey("COALORA_JDBC_URL")) {
                String url = value(env.get("COALORA_JDBC_URL"));
                Matcher m = url == null
                        ? null
                        : Pattern.compile("jdbc:postgresql://([a-z0-9-]+)[a-z0-9.-]*:(\\d+)/\\w+.*")
                                .matcher(url);
                if (m == null || !m.matches()) {
                    p.add(d.where() + ": COALORA_JDBC_URL is " + url + ", not jdbc:postgresql://HOST:PORT/DATABASE");
                } else {
                    Optional<Doc> pg = find("Service", m.group(1));
                    p.check(
                            pg.isPresent() && servicePorts(pg.get()).contains(Integer.parseInt(m.group(2))),
                            d.where() + ": COALORA_JDBC_URL names " + m.group(1) + ":" + m.group(2)
                                    + ", which is not a Service port in the manifests");
                }
            }
            if (read.contains("COALORA_REGISTRY_URL")) {
                String url = value(env.get("COALORA_REGISTRY_URL"));
                Optional<Doc> registry = find("Service", "registry");
                String port = registry.map(r ->
                                servicePorts(r).stream().map(String::valueOf).collect(Collectors.joining("|")))
                        .orElse("none");
                p.check(
                        url != null
                                && url.matches("http://registry(\\." + NAMESPACE + "(\\.svc(\\.cluster\\.local)?)?)?:("
                                        + port + ")/?"),
                        d.where() + ": COALORA_REGISTRY_URL is " + url + ", not the registry's Service (port " + port
                                + ")");
                // a caller of the registry logs in with its own account of the service credentials
                for (String[] v : List.of(
                        new String[] {"COALORA_REGISTRY_USER", service + ".username"},
                        new String[] {"COALORA_REGISTRY_PASSWORD", service + ".password"})) {
                    JsonNode ref = env.getOrDefault(v[0], YAML.createObjectNode())
                            .path("valueFrom")
                            .path("secretKeyRef");
                    p.check(
                            SERVICE_CREDENTIALS.equals(ref.path("name").asText())
                                    && v[1].equals(ref.path("key").asText()),
                            d.where() + ": calls the registry but " + v[0] + " does not come from Secret "
                                    + SERVICE_CREDENTIALS + " key " + v[1]);
                }
            }
            // directories and files must be on a volume of the pod
            for (Map.Entry<String, JsonNode> e : env.entrySet()) {
                if (!(e.getKey().endsWith("_DIR") || e.getKey().endsWith("_FILE"))) continue;
                String path = value(e.getValue());
                Optional<JsonNode> mount = mountOf(container, path);
                p.check(
                        mount.isPresent(),
                        d.where() + ": " + e.getKey() + "=" + path + " is on no volumeMount of the container");
                if (mount.isPresent() && e.getKey().endsWith("_FILE")) {
                    String mountPath = mount.get().path("mountPath").asText();
                    String file = path.substring(mountPath.length()).replaceFirst("^/", "");
                    JsonNode volume = volume(d, mount.get().path("name").asText());
                    p.check(
                            volume != null && fileKeys(volume).contains(file),
                            d.where() + ": " + e.getKey() + "=" + path + ": volume "
                                    + mount.get().path("name").asText() + " has no file " + file);
                }
            }
        }
        // every service authenticates against the users file
        for (String service : FleetStack.SERVICES) {
            find("Deployment", service)
                    .map(d -> env(container(d, service)))
                    .ifPresent(env -> p.check(
                            USERS_FILE.equals(value(env.get("COALORA_USERS_FILE"))),
                            "Deployment " + service + ": COALORA_USERS_FILE is not " + USERS_FILE));
        }
        p.assertNone("environment of the service Deployments against their application.properties");
    }

    @Test
    void secretConfigMapAndVolumeReferencesResolve() {
        Problems p = new Problems();
        for (Doc d : docs) {
            JsonNode pod = podSpec(d);
            if (pod == null) continue;
            Set<String> claimTemplates = new HashSet<>();
            d.node()
                    .path("spec")
                    .path("volumeClaimTemplates")
                    .forEach(t ->
                            claimTemplates.add(t.path("metadata").path("name").asText()));
            Set<String> volumes = new HashSet<>();
            for (JsonNode v : pod.path("volumes")) {
                volumes.add(v.path("name").asText());
                if (v.has("secret")) {
                    String name = v.path("secret").path("secretName").asText();
                    checkKeys(
                            p,
                            d,
                            "Secret",
                            name,
                            v.path("secret").path("items"),
                            "volume " + v.path("name").asText());
                } else if (v.has("configMap")) {
                    String name = v.path("configMap").path("name").asText();
                    checkKeys(
                            p,
                            d,
                            "ConfigMap",
                            name,
                            v.path("configMap").path("items"),
                            "volume " + v.path("name").asText());
                } else if (v.has("persistentVolumeClaim")) {
                    String claim =
                            v.path("persistentVolumeClaim").path("claimName").asText();
                    p.check(
                            find("PersistentVolumeClaim", claim).isPresent(),
                            d.where() + ": volume " + v.path("name").asText() + " claims " + claim
                                    + ", which is not defined");
                }
            }
            List<JsonNode> containers = new ArrayList<>();
            pod.path("containers").forEach(containers::add);
            pod.path("initContainers").forEach(containers::add);
            for (JsonNode c : containers) {
                for (JsonNode e : c.path("env")) {
                    JsonNode from = e.path("valueFrom");
                    for (String[] ref : List.of(
                            new String[] {"secretKeyRef", "Secret"}, new String[] {"configMapKeyRef", "ConfigMap"})) {
                        if (!from.has(ref[0])) continue;
                        String name = from.path(ref[0]).path("name").asText();
                        String key = from.path(ref[0]).path("key").asText();
                        if (ref[1].equals("Secret") && find("KafkaUser", name).isPresent()) {
                            // the User Operator writes the Secret of a KafkaUser: its name, keys password and
                            // sasl.jaas.config
                            p.check(
                                    KAFKA_USER_SECRET_KEYS.contains(key),
                                    d.where() + ": " + e.path("name").asText() + " refers to key " + key
                                            + " of the Secret of KafkaUser " + name + ", which has "
                                            + KAFKA_USER_SECRET_KEYS);
                            continue;
                        }
                        Optional<Doc> target = find(ref[1], name);
                        p.check(
                                target.isPresent(),
                                d.where() + ": " + e.path("name").asText() + " refers to " + ref[1] + " " + name
                                        + ", which is not defined");
                        target.ifPresent(t -> p.check(
                                keysOf(t).contains(key),
                                d.where() + ": " + e.path("name").asText() + " refers to key " + key + " of " + ref[1]
                                        + " " + name + ", which has " + keysOf(t)));
                    }
                }
                for (JsonNode m : c.path("volumeMounts")) {
                    String name = m.path("name").asText();
                    p.check(
                            volumes.contains(name) || claimTemplates.contains(name),
                            d.where() + ": container " + c.path("name").asText() + " mounts " + name
                                    + ", which is no volume of the pod");
                }
            }
        }
        p.assertNone("Secret, ConfigMap and volume references");
    }

    @Test
    void postgresIsAStatefulSetWithAHeadlessServiceAVolumeAndASecretPassword() {
        Problems p = new Problems();
        List<Doc> sets = ofKind("StatefulSet").stream()
                .filter(d -> container(d, null) != null
                        && container(d, null).path("image").asText().startsWith("postgres"))
                .toList();
        p.check(sets.size() == 1, "expected one StatefulSet running a postgres image, found " + sets.size());
        for (Doc s : sets) {
            String serviceName = s.node().path("spec").path("serviceName").asText();
            Optional<Doc> svc = find("Service", serviceName);
            p.check(
                    svc.isPresent()
                            && "None"
                                    .equals(svc.get()
                                            .node()
                                            .path("spec")
                                            .path("clusterIP")
                                            .asText()),
                    s.where() + ": serviceName " + serviceName + " is not a headless Service (clusterIP: None)");
            svc.ifPresent(v -> p.check(
                    matches(
                            v.node().path("spec").path("selector"),
                            s.node()
                                    .path("spec")
                                    .path("template")
                                    .path("metadata")
                                    .path("labels")),
                    v.where() + ": does not select the pods of " + s.where()));
            p.check(
                    s.node().path("spec").path("volumeClaimTemplates").size() > 0,
                    s.where() + ": no volumeClaimTemplates: the data would not survive the pod");
            JsonNode password = env(container(s, null)).get("POSTGRES_PASSWORD");
            p.check(
                    password != null && password.path("valueFrom").has("secretKeyRef"),
                    s.where() + ": POSTGRES_PASSWORD does not come from a Secret");
        }
        p.assertNone("PostgreSQL");
    }

    @Test
    void consumerGroupsDoNotOutgrowTheirTopicsPartitions() throws IOException {
        Problems p = new Problems();
        Map<String, Doc> hpaByTarget = new HashMap<>();
        for (Doc h : ofKind("HorizontalPodAutoscaler")) {
            JsonNode target = h.node().path("spec").path("scaleTargetRef");
            p.check(
                    "Deployment".equals(target.path("kind").asText())
                            && find("Deployment", target.path("name").asText()).isPresent(),
                    h.where() + ": scaleTargetRef is not a Deployment of the manifests");
            hpaByTarget.put(target.path("name").asText(), h);
        }
        for (String service : FleetStack.SERVICES) {
            List<Topic> inputs = ServiceTopics.require(service).reads();
            int partitions = inputs.stream().mapToInt(Topic::partitions).min().orElse(Integer.MAX_VALUE);
            String topics = inputs.stream()
                    .map(t -> t.name() + " (" + t.partitions() + ")")
                    .collect(Collectors.joining(", "));
            Optional<Doc> dep = find("Deployment", service);
            dep.ifPresent(d -> p.check(
                    d.node().path("spec").path("replicas").asInt(1) <= partitions,
                    d.where() + ": replicas "
                            + d.node().path("spec").path("replicas").asInt(1)
                            + " exceed the partitions of what it consumes: " + topics));
            Doc hpa = hpaByTarget.get(service);
            if (AUTOSCALED.contains(service))
                p.check(
                        hpa != null,
                        "no HorizontalPodAutoscaler for " + service + ", which scales as a consumer group");
            if (hpa == null) continue;
            int max = hpa.node().path("spec").path("maxReplicas").asInt();
            int min = hpa.node().path("spec").path("minReplicas").asInt(1);
            p.check(
                    max <= partitions,
                    hpa.where() + ": maxReplicas " + max + " exceeds the partitions of what " + service + " consumes: "
                            + topics + "; replicas beyond that get no partition");
            p.check(min <= max, hpa.where() + ": minReplicas " + min + " > maxReplicas " + max);
            dep.ifPresent(d -> {
                int r = d.node().path("spec").path("replicas").asInt(1);
                p.check(
                        min <= r && r <= max,
                        d.where() + ": replicas " + r + " outside its autoscaler's " + min + ".." + max);
            });
        }
        p.assertNone("replicas against partitions");
    }

    @Test
    void grafanaDashboardUsesTheMetricsContract() throws IOException {
        Problems p = new Problems();
        Path file = root.resolve("deploy/grafana/coalora-dashboard.json");
        assertTrue(Files.isRegularFile(file), "no " + root.relativize(file));
        JsonNode dash;
        try {
            dash = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new AssertionError(root.relativize(file) + " is not JSON: " + e.getMessage(), e);
        }
        p.check(
                dash.path("schemaVersion").asInt() >= 36,
                "schemaVersion " + dash.path("schemaVersion").asText() + ", expected 36 or later (Grafana 9+)");
        p.check(
                !dash.path("title").asText("").isBlank()
                        && !dash.path("uid").asText("").isBlank(),
                "the dashboard has no title or uid");
        boolean input = false;
        for (JsonNode in : dash.path("__inputs")) {
            if ("DS_PROMETHEUS".equals(in.path("name").asText())
                    && "prometheus".equals(in.path("pluginId").asText())) input = true;
        }
        p.check(input, "__inputs has no DS_PROMETHEUS prometheus datasource");
        List<JsonNode> panels = new ArrayList<>();
        for (JsonNode panel : dash.path("panels")) {
            panels.add(panel);
            panel.path("panels").forEach(panels::add); // collapsed rows hold their panels
        }
        p.check(panels.stream().anyMatch(x -> !"row".equals(x.path("type").asText())), "the dashboard has no panels");
        Set<Integer> ids = new HashSet<>();
        Set<String> used = new TreeSet<>();
        Pattern metric = Pattern.compile("\\b(coalora_[a-z0-9_]+)\\s*(\\{([^}]*)\\})?");
        Pattern grouping = Pattern.compile("\\b(?:by|without)\\s*\\(([^)]*)\\)");
        Pattern matcher = Pattern.compile("\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"\\s*");
        for (JsonNode panel : panels) {
            String title = "panel '" + panel.path("title").asText() + "'";
            p.check(
                    ids.add(panel.path("id").asInt()),
                    title + ": id " + panel.path("id").asText() + " is not unique");
            if ("row".equals(panel.path("type").asText())) continue;
            p.check(
                    "${DS_PROMETHEUS}"
                            .equals(panel.path("datasource").path("uid").asText()),
                    title + ": datasource is not ${DS_PROMETHEUS}");
            p.check(panel.path("targets").size() > 0, title + ": no targets");
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText("");
                if (expr.isBlank()) {
                    p.add(title + ": a target without expr");
                    continue;
                }
                Set<String> named = new TreeSet<>();
                Matcher any = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(?:=~|!~|!=|=)\\s*\"")
                        .matcher(expr);
                while (any.find()) named.add(any.group(1));
                Matcher by = grouping.matcher(expr);
                while (by.find()) for (String l : by.group(1).split(",")) named.add(l.trim());
                Matcher legend = Pattern.compile("\\{\\{\\s*([a-zA-Z0-9_]+)\\s*}}")
                        .matcher(target.path("legendFormat").asText(""));
                while (legend.find()) named.add(legend.group(1));
                for (String l : named)
                    p.check(
                            !l.toLowerCase().contains("device"),
                            title + ": label " + l + " in '" + expr + "': no per-device labels");
                for (String s : STANDARD_METRICS) if (expr.contains(s)) used.add(s);
                Set<String> labels = new HashSet<>(Set.of("le"));
                Matcher m = metric.matcher(expr);
                boolean coalora = false;
                while (m.find()) {
                    coalora = true;
                    String name = m.group(1);
                    Map<String, Set<String>> contract = METRICS.get(name);
                    if (contract == null) {
                        p.add(title + ": " + name + " is not in the metrics contract " + METRICS.keySet());
                        continue;
                    }
                    used.add(name);
                    labels.addAll(contract.keySet());
                    if (m.group(3) == null || m.group(3).isBlank()) continue;
                    for (String part : m.group(3).split(",")) {
                        Matcher lm = matcher.matcher(part);
                        if (!lm.matches()) {
                            p.add(title + ": cannot read the label matcher '" + part + "' of " + name);
                            continue;
                        }
                        String label = lm.group(1);
                        if (!contract.containsKey(label)) {
                            p.add(title + ": " + name + " has no label " + label + " (its labels: " + contract.keySet()
                                    + ")");
                        } else if (lm.group(2).equals("=") && contract.get(label) != null) {
                            p.check(
                                    contract.get(label).contains(lm.group(3)),
                                    title + ": " + name + "{" + label + "=\"" + lm.group(3) + "\"}: " + label
                                            + " is one of " + contract.get(label));
                        }
                    }
                }
                if (!coalora) continue; // standard metrics keep whatever labels the scrape gives them
                Matcher g = grouping.matcher(expr);
                while (g.find()) {
                    for (String label : g.group(1).split(",")) {
                        String l = label.trim();
                        p.check(
                                l.isEmpty() || labels.contains(l),
                                title + ": groups by " + l + ", which the metrics of '" + expr + "' do not have");
                    }
                }
            }
        }
        for (String name : METRICS.keySet()) p.check(used.contains(name), "no panel shows " + name);
        for (String name : STANDARD_METRICS) p.check(used.contains(name), "no panel shows " + name);
        p.assertNone(root.relativize(file).toString());
    }

    // ---- the manifests

    static List<Doc> ofKind(String kind) {
        return docs.stream().filter(d -> d.kind().equals(kind)).toList();
    }

    static Optional<Doc> find(String kind, String name) {
        return docs.stream()
                .filter(d -> d.kind().equals(kind) && d.name().equals(name))
                .findFirst();
    }

    static Doc kafka() {
        List<Doc> k = ofKind("Kafka");
        assertTrue(k.size() == 1, "expected one Kafka resource (Strimzi), found " + k.size());
        return k.get(0);
    }

    /** The port of the Kafka cluster's internal listener without TLS, or -1. */
    static int plainListenerPort(Doc kafka) {
        for (JsonNode l : kafka.node().path("spec").path("kafka").path("listeners")) {
            if ("internal".equals(l.path("type").asText()) && !l.path("tls").asBoolean(false))
                return l.path("port").asInt();
        }
        return -1;
    }

    static JsonNode podSpec(Doc d) {
        return switch (d.kind()) {
            case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job" ->
                d.node().path("spec").path("template").path("spec");
            case "CronJob" ->
                d.node()
                        .path("spec")
                        .path("jobTemplate")
                        .path("spec")
                        .path("template")
                        .path("spec");
            case "Pod" -> d.node().path("spec");
            default -> null;
        };
    }

    /** The container named {@code name}, or the only one when name is null or no container has it. */
    static JsonNode container(Doc d, String name) {
        JsonNode containers = podSpec(d) == null ? null : podSpec(d).path("containers");
        if (containers == null || containers.size() == 0) return null;
        for (JsonNode c : containers) if (c.path("name").asText().equals(name)) return c;
        return containers.size() == 1 ? containers.get(0) : null;
    }

    static Map<String, Integer> containerPorts(JsonNode container) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (JsonNode port : container.path("ports")) {
            ports.put(
                    port.path("name").asText("#" + port.path("containerPort").asInt()),
                    port.path("containerPort").asInt());
        }
        return ports;
    }

    /** The port the service listens on: quarkus.http.port of its application.properties, with the Deployment's env. */
    static int httpPort(String service, JsonNode container) throws IOException {
        Map<String, JsonNode> env = env(container);
        if (env.containsKey("QUARKUS_HTTP_PORT")) return Integer.parseInt(value(env.get("QUARKUS_HTTP_PORT")));
        String port = properties(service).getProperty("quarkus.http.port", "8080");
        Matcher m = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*):(\\d+)}").matcher(port);
        if (m.matches()) {
            String set = value(env.get(m.group(1)));
            return Integer.parseInt(set != null ? set : m.group(2));
        }
        return Integer.parseInt(port);
    }

    static Set<Integer> servicePorts(Doc service) {
        Set<Integer> ports = new HashSet<>();
        service.node()
                .path("spec")
                .path("ports")
                .forEach(port -> ports.add(port.path("port").asInt()));
        return ports;
    }

    static void probe(
            Problems p, Doc d, JsonNode container, String kind, String path, Map<String, Integer> ports, int httpPort) {
        JsonNode get = container.path(kind).path("httpGet");
        if (get.isMissingNode()) {
            p.add(d.where() + ": no " + kind + " with httpGet " + path);
            return;
        }
        p.check(
                path.equals(get.path("path").asText()),
                d.where() + ": " + kind + " path " + get.path("path").asText() + ", expected " + path);
        JsonNode port = get.path("port");
        Integer n = port.isInt() ? Integer.valueOf(port.asInt()) : ports.get(port.asText());
        p.check(
                n != null && ports.containsValue(n),
                d.where() + ": " + kind + " port " + port.asText() + " is not a declared container port " + ports);
        p.check(
                n != null && n == httpPort,
                d.where() + ": " + kind + " port " + port.asText() + " is not the HTTP port " + httpPort);
    }

    /** The container's env as name -> entry. */
    static Map<String, JsonNode> env(JsonNode container) {
        Map<String, JsonNode> env = new LinkedHashMap<>();
        if (container != null)
            container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
        return env;
    }

    /** An env entry's value: literal, or read from the ConfigMap or Secret it refers to; null if unknown. */
    static String value(JsonNode entry) {
        if (entry == null) return null;
        if (entry.has("value")) return entry.path("value").asText();
        JsonNode from = entry.path("valueFrom");
        if (from.has("configMapKeyRef")) {
            JsonNode ref = from.path("configMapKeyRef");
            return find("ConfigMap", ref.path("name").asText())
                    .map(c ->
                            c.node().path("data").path(ref.path("key").asText()).asText(null))
                    .orElse(null);
        }
        if (from.has("secretKeyRef")) {
            JsonNode ref = from.path("secretKeyRef");
            Optional<Doc> s = find("Secret", ref.path("name").asText());
            if (s.isEmpty()) return null;
            String key = ref.path("key").asText();
            JsonNode plain = s.get().node().path("stringData").path(key);
            if (!plain.isMissingNode()) return plain.asText();
            JsonNode encoded = s.get().node().path("data").path(key);
            return encoded.isMissingNode()
                    ? null
                    : new String(Base64.getDecoder().decode(encoded.asText()), StandardCharsets.UTF_8);
        }
        return null;
    }

    static Set<String> keysOf(Doc d) {
        Set<String> keys = new TreeSet<>();
        for (String field : List.of("data", "stringData", "binaryData"))
            d.node().path(field).fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    static void checkKeys(Problems p, Doc d, String kind, String name, JsonNode items, String what) {
        Optional<Doc> target = find(kind, name);
        p.check(
                target.isPresent(),
                d.where() + ": " + what + " refers to " + kind + " " + name + ", which is not defined");
        if (target.isEmpty()) return;
        for (JsonNode item : items) {
            p.check(
                    keysOf(target.get()).contains(item.path("key").asText()),
                    d.where() + ": " + what + " refers to key "
                            + item.path("key").asText() + " of " + kind + " " + name + ", which has "
                            + keysOf(target.get()));
        }
    }

    static JsonNode volume(Doc d, String name) {
        for (JsonNode v : podSpec(d).path("volumes"))
            if (v.path("name").asText().equals(name)) return v;
        return null;
    }

    /** The file names a Secret or ConfigMap volume shows: its items' paths, else all the keys. */
    static Set<String> fileKeys(JsonNode volume) {
        JsonNode source = volume.has("secret") ? volume.path("secret") : volume.path("configMap");
        Set<String> files = new HashSet<>();
        if (source.path("items").size() > 0) {
            source.path("items").forEach(i -> files.add(i.path("path").asText()));
        } else {
            String name = volume.has("secret")
                    ? source.path("secretName").asText()
                    : source.path("name").asText();
            find(volume.has("secret") ? "Secret" : "ConfigMap", name).ifPresent(t -> files.addAll(keysOf(t)));
        }
        return files;
    }

    static Optional<JsonNode> mountOf(JsonNode container, String path) {
        if (path == null) return Optional.empty();
        for (JsonNode m : container.path("volumeMounts")) {
            String mp = m.path("mountPath").asText().replaceFirst("/$", "");
            if (path.equals(mp) || path.startsWith(mp + "/")) return Optional.of(m);
        }
        return Optional.empty();
    }

    static boolean matches(JsonNode selector, JsonNode labels) {
        if (selector.isMissingNode() || selector.isEmpty()) return false;
        for (Iterator<Map.Entry<String, JsonNode>> it = selector.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) return false;
        }
        return true;
    }

    static Set<String> texts(JsonNode array) {
        Set<String> out = new HashSet<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    // ---- the services' code

    /**
     * What configures a service: what every service shares (service-security, service-runtime), then its own
     * application.properties, whose settings win (a later line wins in {@link #properties}, as in the service).
     */
    static String applicationProperties(String service) throws IOException {
        StringBuilder text = new StringBuilder();
        for (String module : List.of("service-security", "service-runtime")) {
            Path shared = root.resolve("services")
                    .resolve(module)
                    .resolve("src/main/resources/META-INF/microprofile-config.properties");
            assertTrue(Files.isRegularFile(shared), "no " + root.relativize(shared));
            text.append(Files.readString(shared)).append('\n');
        }
        Path f = root.resolve("services").resolve(service).resolve("src/main/resources/application.properties");
        assertTrue(Files.isRegularFile(f), "no " + root.relativize(f));
        return text.append(Files.readString(f)).toString();
    }

    static Properties properties(String service) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(applicationProperties(service)));
        return p;
    }

    /** Each ${NAME...} of the service's application.properties with its default (null when it has none). */
    static Map<String, String> placeholders(String service) throws IOException {
        String text = applicationProperties(service);
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)([:}])").matcher(text);
        while (m.find()) {
            if (m.group(2).equals("}")) {
                out.put(m.group(1), null);
                continue;
            }
            int depth = 1, i = m.end();
            while (i < text.length() && depth > 0) {
                char c = text.charAt(i);
                if (c == '{') depth++;
                else if (c == '}') depth--;
                i++;
            }
            out.put(m.group(1), text.substring(m.end(), i - 1));
        }
        return out;
    }

    /**
     * The environment variables a service reads: the ${NAME} of its application.properties, the environment
     * name of each property it sets (Quarkus maps QUARKUS_HTTP_HOST onto quarkus.http.host), and System.getenv
     * in its code and the libraries it runs.
     */
    static Set<String> readVariables(String service) throws IOException {
        Set<String> read = new TreeSet<>(placeholders(service).keySet());
        for (String key : properties(service).stringPropertyNames())
            read.add(key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase());
        Pattern getenv = Pattern.compile("System\\.getenv\\(\\s*\"([A-Za-z0-9_]+)\"");
        List<Path> dirs = new ArrayList<>(
                List.of(root.resolve("services").resolve(service).resolve("src/main/java")));
        for (String lib : LIBRARIES) dirs.add(root.resolve(lib).resolve("src/main/java"));
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path f : s.filter(x -> x.toString().endsWith(".java")).toList()) {
                    Matcher m = getenv.matcher(Files.readString(f));
                    while (m.find()) read.add(m.group(1));
                }
            }
        }
        return read;
    }

    static Map<String, Set<String>> labels(Object... nameValues) {
        Map<String, Set<String>> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            @SuppressWarnings("unchecked")
            Set<String> values = (Set<String>) nameValues[i + 1];
            m.put((String) nameValues[i], values);
        }
        return m;
    }
}
