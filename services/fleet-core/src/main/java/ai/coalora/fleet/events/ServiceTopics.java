package ai.coalora.fleet.events;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which topics each service's Kafka principal may read and write: the one table the brokers' ACLs are made from (the
 * embedded broker's, {@code deploy/}'s and the Strimzi {@code KafkaUser}s of {@code deploy/k8s}). A service writes the
 * topics it owns (each topic has exactly one owner) and the dead-letter twin of every topic it reads; it reads its
 * inputs as consumer group {@code coalora-<service>}. Nothing else: a compromised service cannot forge another's
 * events. The principal's name is the service's.
 *
 * <p>The registry owns what devices report (capabilities, status, telemetry): devices reach the fleet through the
 * registry, which publishes on their behalf.
 */
public record ServiceTopics(String service, List<Topic> reads, List<Topic> owns) {
    public static final String GROUP_PREFIX = "coalora-";

    public static final List<ServiceTopics> ALL = List.of(
            new ServiceTopics(
                    "registry",
                    List.of(
                            Topic.CAPABILITIES,
                            Topic.ASSIGNMENTS,
                            Topic.ADAPTERS_READY,
                            Topic.TELEMETRY,
                            Topic.DEVICE_STATUS),
                    List.of(
                            Topic.CAPABILITIES,
                            Topic.DEVICE_STATUS,
                            Topic.TELEMETRY,
                            Topic.MODEL_VERSIONS,
                            Topic.MODEL_ALIASES,
                            Topic.RETRAINING_REQUESTS,
                            Topic.DEVICE_TARGETS)),
            new ServiceTopics(
                    "planner",
                    List.of(Topic.CAPABILITIES, Topic.MODEL_ALIASES, Topic.MODEL_VERSIONS, Topic.DEVICE_TARGETS),
                    List.of(Topic.ASSIGNMENTS)),
            new ServiceTopics("adapter-generator", List.of(Topic.ASSIGNMENTS), List.of(Topic.ADAPTERS_READY)),
            new ServiceTopics("trainer", List.of(Topic.RETRAINING_REQUESTS), List.of()));

    public ServiceTopics {
        reads = List.copyOf(reads);
        owns = List.copyOf(owns);
    }

    /** The Kafka user name of the service. */
    public String principal() {
        return service;
    }

    /** The consumer group its replicas share. */
    public String group() {
        return GROUP_PREFIX + service;
    }

    /** What it may write: the topics it owns and the dead-letter twins of what it reads. */
    public List<Topic> writes() {
        List<Topic> w = new ArrayList<>(owns);
        for (Topic t : reads) w.add(t.deadLetter());
        return List.copyOf(w);
    }

    /** Names of the topics it may write. */
    public Set<String> writeNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Topic t : writes()) names.add(t.name());
        return names;
    }

    /** Every topic of the fleet and every dead-letter twin: what the cluster holds. */
    public static List<Topic> allTopics() {
        List<Topic> all = new ArrayList<>();
        for (Topic t : Topic.ALL) {
            all.add(t);
            all.add(t.deadLetter());
        }
        return List.copyOf(all);
    }

    public static Optional<ServiceTopics> of(String service) {
        return ALL.stream().filter(s -> s.service.equals(service)).findFirst();
    }

    /** The service that owns (alone may publish) {@code topic}'s events; dead letters belong to their readers. */
    public static String ownerOf(Topic topic) {
        for (ServiceTopics s : ALL) if (s.owns.contains(topic)) return s.service;
        throw new IllegalArgumentException("no service owns " + topic.name());
    }

    /** The service's row; a service without one is told at startup, since the brokers grant its principal nothing. */
    public static ServiceTopics require(String service) {
        return of(service)
                .orElseThrow(() -> new IllegalStateException("service " + service
                        + " has no row in ServiceTopics.ALL: the brokers grant its principal nothing"));
    }

    private static List<String> names(List<Topic> topics) {
        return topics.stream().map(Topic::name).toList();
    }
}
