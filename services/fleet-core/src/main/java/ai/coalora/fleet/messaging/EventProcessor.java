package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.schema.EventSchemas;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's consumer loop with its delivery guarantees:
 * <ol>
 *   <li>each record is decoded (CloudEvents binary mode) and its data validated against the event's JSON
 *       Schema; an unreadable or invalid record is dead-lettered with the reason;</li>
 *   <li>in ONE database transaction per poll batch: the inbox records each event key (a redelivered event
 *       is skipped: idempotent consumer), the handler applies each new event, and everything it publishes
 *       goes to the outbox; a handler's {@link RejectedEvent}, or any other failure that is not an outage
 *       ({@link Failures}), rolls back just that event (a savepoint) and dead-letters it with the failure as reason;</li>
 *   <li>a failure outside any one event's handling (the batch's {@code prepare}, the commit) that is not an outage
 *       splits the batch in halves, each processed on its own, down to the one record that fails, which is
 *       dead-lettered alone: a poison record never stalls the consumer, and every other record is applied;</li>
 *   <li>only after the commit are the Kafka offsets committed. A crash anywhere replays the batch, and the
 *       inbox makes the replay a no-op.</li>
 * </ol>
 * An outage (database, broker, registry) stops progress (nothing is skipped) and the loop retries from the last
 * committed offsets. What it consumed is counted per topic and outcome in {@link EventMetrics} once committed,
 * and the consumer lag refreshed every {@link #LAG_REFRESH_MS} ms.
 */
public final class EventProcessor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventProcessor.class);
    /** The consumer lag gauge is refreshed at most this often. */
    static final long LAG_REFRESH_MS = 2000;

    /** @param service names the consumer group and the source of dead letters */
    public record Settings(String service, KafkaConnection kafka, List<Topic> inputs) {}

    private final Settings settings;
    private final DataSource dataSource;
    private final EventSchemas schemas;
    private final EventHandler handler;
    private final OutboxRelay relay;
    private final EventMetrics metrics;
    private final Thread thread;
    private final AtomicLong applied = new AtomicLong(), deadLettered = new AtomicLong(), duplicates = new AtomicLong();
    private volatile boolean running = true;
    private volatile String lastError;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private long lagRefreshedAt;

    public EventProcessor(
            Settings settings,
            DataSource dataSource,
            EventSchemas schemas,
            EventHandler handler,
            OutboxRelay relay,
            EventMetrics metrics) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.schemas = schemas;
        this.handler = handler;
        this.relay = relay;
        this.metrics = metrics;
        this.thread = new Thread(this::run, settings.service() + "-events");
        thread.setDaemon(true);
    }

    public EventProcessor start() {
        thread.start();
        return this;
    }

    public long applied() {
        return applied.get();
    }

    public long deadLettered() {
        return deadLettered.get();
    }

    public long duplicates() {
        return duplicates.get();
    }

    /** Null while healthy; the last failure otherwise. */
    public String lastError() {
        return lastError;
    }

    public boolean isRunning() {
        return running && thread.isAlive();
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(KafkaSettings.consumer(
                    settings.kafka(),
                    settings.service(),
                    settings.service() + "-" + ProcessHandle.current().pid()))) {
                consumer = c;
                c.subscribe(settings.inputs().stream().map(Topic::name).toList());
                while (running) {
                    ConsumerRecords<String, byte[]> records = c.poll(Duration.ofMillis(200));
                    if (!records.isEmpty()) {
                        processBatch(records);
                        c.commitSync(nextOffsets(records));
                        lastError = null;
                    }
                    refreshLag(c);
                }
            } catch (WakeupException e) {
                return; // closing
            } catch (Exception e) {
                if (!running) return;
                // the consumer is recreated and resumes from the last committed offsets: nothing skipped
                lastError = e.toString();
                LOG.warn("{}: {} (resuming from committed offsets)", settings.service(), e.toString());
                Threads.sleepQuietly(1000);
            }
        }
    }

    private record Incoming(ConsumerRecord<String, byte[]> record, CloudEvent event, String rejection, String key) {}

    private void processBatch(ConsumerRecords<String, byte[]> records) throws Exception {
        List<Incoming> batch = new ArrayList<>(records.count());
        for (ConsumerRecord<String, byte[]> r : records) batch.add(read(r));
        process(batch);
    }

    /**
     * Processes {@code batch}; on a failure that is neither an outage nor attributable to one event, the halves are
     * processed one after the other (keeping the order), down to the single record that fails, dead-lettered alone.
     */
    private void process(List<Incoming> batch) throws Exception {
        try {
            processOnce(batch);
        } catch (Exception e) {
            if (Failures.isTransient(e)) throw e;
            if (batch.size() == 1) {
                deadLetterAlone(batch.get(0), "processing this event failed: " + Failures.describe(e));
                return;
            }
            LOG.info("{}: a batch of {} failed ({}); splitting it", settings.service(), batch.size(), e.toString());
            int mid = batch.size() / 2;
            process(batch.subList(0, mid));
            process(batch.subList(mid, batch.size()));
        }
    }

    private void processOnce(List<Incoming> batch)
            throws Exception { // outcomes count only once the batch committed: a rolled-back batch is replayed and
        // counted then
        Map<String, Map<String, Long>> outcomes = new HashMap<>();
        Transaction tx;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                Set<String> fresh = claim(c, batch);
                List<CloudEvent> toPrepare = new ArrayList<>();
                for (Incoming in : batch) if (in.event() != null && fresh.contains(in.key())) toPrepare.add(in.event());
                if (!toPrepare.isEmpty()) handler.prepare(toPrepare);
                tx = new Transaction(c, schemas);
                if (!toPrepare.isEmpty()) handler.begin(toPrepare, tx);
                for (Incoming in : batch) {
                    if (!fresh.remove(in.key())) {
                        count(outcomes, in, EventMetrics.DUPLICATE);
                        continue;
                    } // seen before (or twice in this batch)
                    if (in.rejection() != null) {
                        deadLetter(c, in, in.rejection());
                        count(outcomes, in, EventMetrics.DEAD_LETTERED);
                        continue;
                    }
                    Savepoint before = c.setSavepoint();
                    int mark = tx.afterCommitMark();
                    try {
                        handler.apply(in.event(), tx);
                        c.releaseSavepoint(before);
                        count(outcomes, in, EventMetrics.APPLIED);
                    } catch (RejectedEvent e) {
                        c.rollback(before);
                        tx.discardAfterCommit(mark);
                        deadLetter(c, in, e.getMessage());
                        count(outcomes, in, EventMetrics.DEAD_LETTERED);
                    } catch (Exception e) {
                        // not an outage, so this event's: retrying would fail the same way for ever (e.g. class 22, a
                        // NUL bound for jsonb; class 23, a constraint; an overflow in the handler's arithmetic)
                        if (Failures.isTransient(e)) throw e;
                        c.rollback(before);
                        tx.discardAfterCommit(mark);
                        deadLetter(
                                c,
                                in,
                                e instanceof SQLException sql
                                        ? "the database cannot store this event's data (" + sql.getSQLState() + "): "
                                                + e.getMessage()
                                        : "the handler failed on this event: " + Failures.describe(e));
                        count(outcomes, in, EventMetrics.DEAD_LETTERED);
                    }
                }
                c.commit();
            } catch (Exception e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    /* connection lost: nothing committed */
                }
                throw e;
            }
        }
        relay.wakeup();
        for (Map<String, Long> byOutcome : outcomes.values()) {
            applied.addAndGet(byOutcome.getOrDefault(EventMetrics.APPLIED, 0L));
            duplicates.addAndGet(byOutcome.getOrDefault(EventMetrics.DUPLICATE, 0L));
            deadLettered.addAndGet(byOutcome.getOrDefault(EventMetrics.DEAD_LETTERED, 0L));
        }
        metrics.processed(outcomes);
        for (Runnable action : tx.takeAfterCommit()) {
            try {
                action.run();
            } catch (RuntimeException e) { // committed is committed: a failing action must not replay the batch
                LOG.warn("{}: after-commit action failed: {}", settings.service(), e.toString());
            }
        }
    }

    private static void count(Map<String, Map<String, Long>> outcomes, Incoming in, String outcome) {
        outcomes.computeIfAbsent(in.record().topic(), t -> new HashMap<>()).merge(outcome, 1L, Long::sum);
    }

    /**
     * The lag of each input topic: per assigned partition, the end (read_committed: last stable offset) minus
     * the position, as the consumer knows it from its fetches; a partition it has not fetched yet is asked for once.
     * Metrics only: a failure here is logged, never stops the loop.
     */
    private void refreshLag(KafkaConsumer<String, byte[]> c) {
        long now = System.currentTimeMillis();
        if (now - lagRefreshedAt < LAG_REFRESH_MS) return;
        lagRefreshedAt = now;
        try {
            Map<String, Long> byTopic = new HashMap<>();
            List<TopicPartition> unknown = new ArrayList<>();
            for (TopicPartition tp : c.assignment()) {
                OptionalLong lag = c.currentLag(tp);
                if (lag.isPresent()) byTopic.merge(tp.topic(), Math.max(0, lag.getAsLong()), Long::sum);
                else unknown.add(tp);
            }
            if (!unknown.isEmpty()) {
                Map<TopicPartition, Long> ends = c.endOffsets(unknown, Duration.ofSeconds(1));
                for (TopicPartition tp : unknown) {
                    Long end = ends.get(tp);
                    if (end != null)
                        byTopic.merge(tp.topic(), Math.max(0, end - c.position(tp, Duration.ofSeconds(1))), Long::sum);
                }
            }
            metrics.lag(byTopic);
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.debug("{}: consumer lag not refreshed: {}", settings.service(), e.toString());
        }
    }

    /**
     * Dead-letters one record in a transaction of its own (the record the batch was split down to): its key joins the
     * inbox as dead-lettered, unless it is already there (seen before: a duplicate, nothing to do).
     */
    private void deadLetterAlone(Incoming in, String reason) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                boolean fresh;
                try (PreparedStatement st = c.prepareStatement(
                        "insert into inbox (event_key, topic, outcome) values (?, ?, 'dead-lettered') "
                                + "on conflict (event_key) do nothing")) {
                    st.setString(1, in.key());
                    st.setString(2, in.record().topic());
                    fresh = st.executeUpdate() == 1;
                }
                if (fresh) deadLetter(c, in, reason);
                c.commit();
                String outcome = fresh ? EventMetrics.DEAD_LETTERED : EventMetrics.DUPLICATE;
                (fresh ? deadLettered : duplicates).incrementAndGet();
                metrics.processed(Map.of(in.record().topic(), Map.of(outcome, 1L)));
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    /* connection lost: nothing committed */
                }
                throw e;
            }
        }
    }

    private void deadLetter(Connection c, Incoming in, String reason) throws SQLException {
        DeadLetters.append(c, in.record(), reason, settings.service());
        try (PreparedStatement st =
                c.prepareStatement("update inbox set outcome = 'dead-lettered' where event_key = ?")) {
            st.setString(1, in.key());
            st.executeUpdate();
        }
        LOG.info(
                "{}: dead-lettered {}[{}]@{}: {}",
                settings.service(),
                in.record().topic(),
                in.record().partition(),
                in.record().offset(),
                reason);
    }

    /** Decodes and validates a record; the key is the event's identity, or its position if it has none. */
    private Incoming read(ConsumerRecord<String, byte[]> r) {
        String position = r.topic() + "/" + r.partition() + "/" + r.offset();
        CloudEvent e;
        try {
            e = KafkaCloudEvents.decode(r);
        } catch (KafkaCloudEvents.Unreadable u) {
            return new Incoming(r, null, u.getMessage(), position);
        }
        String expected = settings.inputs().stream()
                .filter(t -> t.name().equals(r.topic()))
                .map(Topic::eventType)
                .findFirst()
                .orElse(null);
        String rejection = null;
        if (hasControlCharacters(e.id())
                || hasControlCharacters(e.source())
                || hasControlCharacters(e.subject())
                || hasControlCharacters(r.key())) {
            rejection = "control characters in the record key or the event's id, source or subject";
        } else if (expected != null && !expected.equals(e.type())) {
            rejection =
                    "event type '" + e.type() + "' does not belong on " + r.topic() + " (expected " + expected + ")";
        } else if (!schemas.knows(e.type())) {
            rejection = "unknown event type '" + e.type() + "'";
        } else {
            List<String> problems = schemas.validate(e.type(), e.data());
            if (!problems.isEmpty()) rejection = "schema " + e.type() + ": " + String.join("; ", problems);
            else if (r.key() != null && e.subject() != null && !r.key().equals(e.subject())) {
                rejection = "record key '" + r.key() + "' differs from the event subject '" + e.subject() + "'";
            }
        }
        // a rejected record is remembered by position: its id may be forged or repeated
        return new Incoming(r, rejection == null ? e : null, rejection, rejection == null ? e.dedupeKey() : position);
    }

    private static boolean hasControlCharacters(String s) {
        if (s == null) return false;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < 0x20 || s.charAt(i) == 0x7f) return true;
        return false;
    }

    /** Inserts the batch's keys into the inbox; returns those that were new. */
    private static Set<String> claim(Connection c, List<Incoming> batch) throws SQLException {
        Set<String> fresh = new HashSet<>();
        try (PreparedStatement st = c.prepareStatement(
                "insert into inbox (event_key, topic, outcome) select * from unnest(?::text[], ?::text[], ?::text[]) "
                        + "on conflict (event_key) do nothing returning event_key")) {
            st.setArray(
                    1, c.createArrayOf("text", batch.stream().map(Incoming::key).toArray()));
            st.setArray(
                    2,
                    c.createArrayOf(
                            "text", batch.stream().map(i -> i.record().topic()).toArray()));
            st.setArray(
                    3,
                    c.createArrayOf(
                            "text",
                            batch.stream()
                                    .map(i -> i.rejection() == null ? "applied" : "dead-lettered")
                                    .toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) fresh.add(rs.getString(1));
            }
        }
        return fresh;
    }

    private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(ConsumerRecords<String, byte[]> records) {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<String, byte[]>> rs = records.records(tp);
            out.put(tp, new OffsetAndMetadata(rs.get(rs.size() - 1).offset() + 1));
        }
        return out;
    }

    @Override
    public void close() {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) c.wakeup();
        Threads.join(thread, 10_000);
    }
}
