package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.Payloads;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the outbox: reads committed rows in {@code seq} order, sends them with the idempotent
 * producer, waits for the broker's acknowledgement of all, then deletes them. A crash between send and
 * delete re-sends; the events keep their ids, so consumers' inboxes drop the copies. One relay per
 * schema works at a time (an advisory lock), so per-key order holds with several service replicas.
 */
public final class OutboxRelay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutboxRelay.class);
    static final int BATCH = 1000;
    private static final long IDLE_POLL_MS = 250;

    private final DataSource dataSource;
    private final KafkaProducer<String, byte[]> producer;
    private final Semaphore wakeups = new Semaphore(0);
    private final Thread thread;
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean running = true;
    private volatile String lastError;

    public OutboxRelay(String service, KafkaConnection kafka, DataSource dataSource) {
        this.dataSource = dataSource;
        this.producer = new KafkaProducer<>(KafkaSettings.producer(kafka, service + "-outbox"));
        this.thread = new Thread(this::run, service + "-outbox-relay");
        thread.setDaemon(true);
    }

    public OutboxRelay start() {
        thread.start();
        return this;
    }

    /** Something was committed to the outbox: publish it now rather than at the next poll. */
    public void wakeup() {
        wakeups.release();
    }

    public long sent() {
        return sent.get();
    }

    /** Null while healthy; the last failure otherwise (the relay keeps retrying). */
    public String lastError() {
        return lastError;
    }

    private void run() {
        while (running) {
            try {
                wakeups.tryAcquire(IDLE_POLL_MS, TimeUnit.MILLISECONDS);
                wakeups.drainPermits();
                while (running && drainOnce() == BATCH) {
                    /* more waiting */
                }
                lastError = null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                if (!running) return;
                lastError = e.toString();
                LOG.warn("outbox relay: {} (retrying)", e.toString());
                Threads.sleepQuietly(1000);
            }
        }
    }

    /** Sends up to {@link #BATCH} rows; returns how many. */
    int drainOnce() throws Exception {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement lock = c.prepareStatement(
                                "select pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox'))");
                        ResultSet rs = lock.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        c.rollback();
                        return 0;
                    } // another replica is relaying
                }
                List<Long> seqs = new ArrayList<>();
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                try (PreparedStatement st = c.prepareStatement(
                                "select seq, topic, record_key, value, headers from outbox order by seq limit "
                                        + BATCH);
                        ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        seqs.add(rs.getLong(1));
                        RecordHeaders headers = new RecordHeaders();
                        JsonNode h = Payloads.JSON.readTree(rs.getString(5));
                        for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
                            Map.Entry<String, JsonNode> e = it.next();
                            headers.add(e.getKey(), e.getValue().asText().getBytes(StandardCharsets.UTF_8));
                        }
                        acks.add(producer.send(
                                new ProducerRecord<>(rs.getString(2), null, rs.getString(3), rs.getBytes(4), headers)));
                    }
                }
                if (seqs.isEmpty()) {
                    c.rollback();
                    return 0;
                }
                producer.flush();
                for (Future<RecordMetadata> ack : acks) ack.get(); // throws if any send failed: rows stay for the retry
                try (PreparedStatement del = c.prepareStatement("delete from outbox where seq = any(?)")) {
                    Array ids = c.createArrayOf("bigint", seqs.toArray());
                    del.setArray(1, ids);
                    del.executeUpdate();
                }
                c.commit();
                sent.addAndGet(seqs.size());
                return seqs.size();
            } catch (Exception e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    /* the connection is gone: the rows stay */
                }
                throw e;
            }
        }
    }

    @Override
    public void close() {
        running = false;
        wakeup();
        Threads.join(thread, 5000);
        producer.close(Duration.ofSeconds(5));
    }
}
