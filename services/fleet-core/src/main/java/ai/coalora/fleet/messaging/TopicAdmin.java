package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.Topic;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates the topics a service uses, with their explicit settings, and the dead-letter twins of its inputs. */
public final class TopicAdmin {
    private TopicAdmin() {}

    public static void ensure(String bootstrapServers, Collection<Topic> outputs, Collection<Topic> inputs) {
        List<Topic> wanted = new ArrayList<>(outputs);
        wanted.addAll(inputs);
        for (Topic in : inputs) wanted.add(in.deadLetter());
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (Admin admin = Admin.create(p)) {
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
            throw new IllegalStateException(
                    "cannot create topics on " + bootstrapServers + ": "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }
}
