package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.Topic;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Makes sure the topics a service uses exist, with their explicit settings, and the dead-letter twins of its inputs.
 * Where the brokers enforce ACLs the topics are created beforehand by the cluster's admin (a service principal may
 * not create topics), so for a service this finds them all and creates nothing; an admin connection (tests, tools)
 * creates what is missing.
 */
public final class TopicAdmin {
    private TopicAdmin() {}

    public static void ensure(KafkaConnection kafka, Collection<Topic> outputs, Collection<Topic> inputs) {
        List<Topic> wanted = new ArrayList<>(outputs);
        wanted.addAll(inputs);
        for (Topic in : inputs) wanted.add(in.deadLetter());
        try (Admin admin = Admin.create(KafkaSettings.admin(kafka, kafka.username() + "-topics"))) {
            // a principal lists only the topics it may describe: its own, which is all that matters here
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> create = new ArrayList<>();
            for (Topic t : wanted) {
                if (existing.contains(t.name())
                        || create.stream().anyMatch(n -> n.name().equals(t.name()))) continue;
                create.add(new NewTopic(t.name(), t.partitions(), (short) -1)
                        .configs(t.configs())); // -1: broker's default replication
            }
            if (create.isEmpty()) return;
            try {
                admin.createTopics(create).all().get();
            } catch (ExecutionException e) {
                // another service created it between our list and create: that is the same topic
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SaslAuthenticationException)
                throw new IllegalStateException(
                        "Kafka at " + kafka.bootstrapServers() + " refused user " + kafka.username() + ": "
                                + cause.getMessage() + " (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)",
                        cause);
            if (cause instanceof AuthorizationException)
                throw new IllegalStateException(
                        "Kafka user " + kafka.username() + " may not create the missing topics of " + names(wanted)
                                + " on " + kafka.bootstrapServers() + ": " + cause.getMessage()
                                + " (the cluster's admin creates them: KafkaPrincipals, or deploy/k8s/kafka-topics.yaml)",
                        cause);
            throw new IllegalStateException(
                    "cannot create topics on " + kafka.bootstrapServers() + ": " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    private static List<String> names(List<Topic> topics) {
        return topics.stream().map(Topic::name).distinct().toList();
    }
}
