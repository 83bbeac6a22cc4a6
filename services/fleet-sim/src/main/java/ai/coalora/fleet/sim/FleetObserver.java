package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.DeadLetters;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Watches what the fleet receives, as the devices would: every assignment and adapter-ready event per
 * device, and every dead-lettered record with its reason. Reads from the beginning with its own group.
 */
public final class FleetObserver implements AutoCloseable {
    /** A dead-lettered record: where it was headed and why it was rejected. */
    public record DeadLetter(String topic, String key, String reason, String service) {}

    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private final Map<String, List<Assignment>> assignments = new ConcurrentHashMap<>();
    private final Map<String, List<AdapterReady>> adapters = new ConcurrentHashMap<>();
    private final Map<String, Long> firstAdapterNanos = new ConcurrentHashMap<>();
    private final List<DeadLetter> deadLetters = new CopyOnWriteArrayList<>();
    private final Map<String, List<Payloads.DeviceTarget>> targets = new ConcurrentHashMap<>();
    private final AtomicLong unreadable = new AtomicLong();
    /** The capabilities events as the gateway published them, in order (what a replay sends again). */
    private final List<CloudEvent> capabilities = new CopyOnWriteArrayList<>();

    private final Set<String> capabilityIds = ConcurrentHashMap.newKeySet();

    private volatile boolean running = true;

    /** @param kafka a principal that may read every topic and dead-letter topic in a group of its own (the admin) */
    public FleetObserver(KafkaConnection kafka) {
        consumer =
                new KafkaConsumer<>(KafkaSettings.consumer(kafka, "observer-" + UUID.randomUUID(), "fleet-observer"));
        List<String> topics = new ArrayList<>(List.of(
                Topic.ASSIGNMENTS.name(),
                Topic.ADAPTERS_READY.name(),
                Topic.DEVICE_TARGETS.name(),
                Topic.CAPABILITIES.name()));
        for (Topic t : Topic.ALL) {
            topics.add(t.deadLetter().name()); // the dead-letter topics of every topic a service consumes
        }
        consumer.subscribe(topics);
        thread = new Thread(this::run, "fleet-observer");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    if (r.topic().endsWith(Topic.DLQ_SUFFIX)) {
                        String service = new String(
                                r.headers().lastHeader(DeadLetters.SERVICE).value());
                        deadLetters.add(new DeadLetter(r.topic(), r.key(), DeadLetters.reasonOf(r.headers()), service));
                        continue;
                    }
                    CloudEvent e;
                    try {
                        e = KafkaCloudEvents.decode(r);
                    } catch (KafkaCloudEvents.Unreadable | RuntimeException hostile) {
                        unreadable.incrementAndGet(); // what a hostile producer wrote: the services dead-letter it
                        continue;
                    }
                    try {
                        if (r.topic().equals(Topic.CAPABILITIES.name())) {
                            // once per event: after a broker outage the observer may read the topic again
                            if (capabilityIds.add(e.id())) capabilities.add(e);
                        } else if (r.topic().equals(Topic.ASSIGNMENTS.name())) {
                            Assignment a = Payloads.read(e.data(), Assignment.class);
                            assignments
                                    .computeIfAbsent(a.deviceId(), k -> new CopyOnWriteArrayList<>())
                                    .add(a);
                        } else if (r.topic().equals(Topic.DEVICE_TARGETS.name())) {
                            Payloads.DeviceTarget t = Payloads.read(e.data(), Payloads.DeviceTarget.class);
                            targets.computeIfAbsent(t.deviceId(), k -> new CopyOnWriteArrayList<>())
                                    .add(t);
                        } else {
                            AdapterReady a = Payloads.read(e.data(), AdapterReady.class);
                            firstAdapterNanos.putIfAbsent(a.deviceId(), System.nanoTime());
                            adapters.computeIfAbsent(a.deviceId(), k -> new CopyOnWriteArrayList<>())
                                    .add(a);
                        }
                    } catch (RuntimeException hostile) {
                        unreadable.incrementAndGet();
                    }
                }
            }
        } catch (WakeupException closing) {
            // closed
        } catch (Exception e) {
            throw new IllegalStateException("observer failed: " + e, e);
        } finally {
            consumer.close();
        }
    }

    /** Every capabilities event seen on the topic, in order. */
    public List<CloudEvent> capabilities() {
        return List.copyOf(capabilities);
    }

    public List<Assignment> assignmentsOf(String deviceId) {
        return assignments.getOrDefault(deviceId, List.of());
    }

    public List<AdapterReady> adaptersOf(String deviceId) {
        return adapters.getOrDefault(deviceId, List.of());
    }

    public Map<String, List<Assignment>> assignments() {
        return assignments;
    }

    public Map<String, List<AdapterReady>> adapters() {
        return adapters;
    }

    public Long firstAdapterNanos(String deviceId) {
        return firstAdapterNanos.get(deviceId);
    }

    public List<DeadLetter> deadLetters() {
        return deadLetters;
    }

    /** The device-target events each device was sent (rollout waves, retries, reverts), in order. */
    public Map<String, List<Payloads.DeviceTarget>> targets() {
        return targets;
    }

    /** Records on the watched topics that were not readable events (a hostile producer's). */
    public long unreadable() {
        return unreadable.get();
    }

    /** Waits until {@code done} holds; false on timeout. */
    public static boolean await(BooleanSupplier done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (done.getAsBoolean()) return true;
            Thread.sleep(50);
        }
        return done.getAsBoolean();
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
