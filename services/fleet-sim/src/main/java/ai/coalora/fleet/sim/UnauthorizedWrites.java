package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.ServiceTopics;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes the brokers must refuse, tried against a running stack: a client without credentials or with a wrong
 * password on every topic, and every service principal on every topic it does not own ({@link ServiceTopics}). Each
 * attempt is one record; a refusal is the broker's error (or, for a client that never authenticates, no metadata at
 * all) within seconds. A record that got through is counted as not refused.
 */
final class UnauthorizedWrites {
    /** How long a client without credentials waits for metadata that never comes: its refusal. */
    private static final int ANONYMOUS_TIMEOUT_MS = 3000;
    /** A client that logs in gets its refusal from the broker at once; the bound only covers a busy host. */
    private static final int TIMEOUT_MS = 20_000;

    /** How many were tried, how many refused, and the errors by kind. */
    record Result(long attempted, long refused, String reasons) {}

    private UnauthorizedWrites() {}

    /** Every topic and dead-letter topic, once without credentials and once with a wrong password. */
    static Result unauthenticated(KafkaConnection any) throws InterruptedException {
        List<Callable<Throwable>> attempts = new ArrayList<>();
        for (Topic t : ServiceTopics.allTopics()) {
            attempts.add(() -> {
                Properties none = new Properties();
                none.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, any.bootstrapServers());
                return write(none, t.name(), ANONYMOUS_TIMEOUT_MS);
            });
            attempts.add(() -> write(
                    KafkaSettings.producer(any.as(any.username(), any.password() + "-wrong"), "intruder"),
                    t.name(),
                    TIMEOUT_MS));
        }
        return run(
                attempts,
                e -> e instanceof TimeoutException
                        ? "TimeoutException (no credentials: the broker answers nothing before SASL authentication)"
                        : e instanceof AuthenticationException
                                ? e.getClass().getSimpleName() + " (wrong password)"
                                : null);
    }

    /** Each service principal on each topic (and dead-letter topic) outside its row: a compromised service. */
    static Result crossService(Map<String, KafkaConnection> principals) throws InterruptedException {
        List<Callable<Throwable>> attempts = new ArrayList<>();
        for (ServiceTopics s : ServiceTopics.ALL) {
            for (Topic t : ServiceTopics.allTopics()) {
                if (s.writeNames().contains(t.name())) continue;
                KafkaConnection c = principals.get(s.principal());
                attempts.add(() -> write(KafkaSettings.producer(c, s.principal() + "-intruder"), t.name(), TIMEOUT_MS));
            }
        }
        return run(
                attempts,
                e -> e instanceof AuthorizationException
                        ? e.getClass().getSimpleName() + " (not the topic's owner)"
                        : null);
    }

    /** Runs the attempts at once; counts refusals by {@code reason}. */
    private static Result run(List<Callable<Throwable>> attempts, Function<Throwable, String> reason)
            throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(attempts.size(), 24));
        try {
            List<Future<Throwable>> results = pool.invokeAll(attempts);
            Map<String, Integer> byReason = new TreeMap<>();
            long refused = 0;
            for (Future<Throwable> f : results) {
                Throwable e;
                try {
                    e = f.get();
                } catch (ExecutionException x) {
                    e = x.getCause();
                }
                String why = e == null ? null : reason.apply(e);
                if (why != null) refused++;
                byReason.merge(why != null ? why : e == null ? "WRITTEN" : "other: " + e, 1, Integer::sum);
            }
            StringBuilder reasons = new StringBuilder();
            byReason.forEach((k, v) -> reasons.append(reasons.isEmpty() ? "" : "; ")
                    .append(v)
                    .append(" ")
                    .append(k));
            return new Result(attempts.size(), refused, reasons.toString());
        } finally {
            pool.shutdownNow();
        }
    }

    /** One record; null when the broker took it, else what refused it. */
    private static Throwable write(Properties props, String topic, int timeoutMs) {
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs);
        props.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 2 * timeoutMs);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "intruder");
        try (KafkaProducer<String, byte[]> p =
                new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(topic, "intruder", new byte[] {'{', '}'}))
                    .get(30, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
    }
}
