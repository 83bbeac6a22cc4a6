package ai.coalora.fleet.infra;

import ai.coalora.fleet.events.ServiceTopics;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import ai.coalora.fleet.messaging.TopicAdmin;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Provisions a closed cluster as its admin: every topic of the fleet, and for each service of {@link ServiceTopics}
 * a SCRAM-SHA-512 user with its own random password and exactly the ACLs of its row (READ on its inputs, WRITE on
 * what it owns and on its inputs' dead-letter twins, READ on its consumer group; READ and WRITE imply DESCRIBE, and
 * WRITE on a topic lets the idempotent producer start). An ACL of a service principal that the table does not hold
 * is deleted, so the broker grants what the table says and nothing left over from before.
 *
 * <p>Topics are created here, by the admin, not by the services: a topic's partitions and configs (compaction,
 * retention) are the cluster's decision, as the {@code KafkaTopic} resources are in Kubernetes, and a service that
 * may create topics could create (and so shape) one that another service owns before that service starts. So no
 * service principal holds CREATE; a service finds its topics and creates nothing.
 *
 * <p>Passwords are kept owner-only in {@code <credentials>/<service>.password}, made once and reused: a broker
 * restart or a second provisioning keeps the services' logins working. Delete a file and provision again to rotate
 * that password (then restart the service).
 */
public final class KafkaPrincipals {
    private static final int SCRAM_ITERATIONS = 4096;
    private static final Duration PROPAGATION = Duration.ofSeconds(30);

    private KafkaPrincipals() {}

    /**
     * Creates the topics, users and ACLs; returns each service's connection (same brokers and transport as {@code
     * admin}) by principal name.
     */
    public static Map<String, KafkaConnection> provision(KafkaConnection admin, Path credentialsDir)
            throws IOException {
        TopicAdmin.ensure(admin, ServiceTopics.allTopics(), List.of());
        Map<String, KafkaConnection> connections = new LinkedHashMap<>();
        for (ServiceTopics s : ServiceTopics.ALL) {
            String password = EmbeddedKafka.readOrCreateSecret(credentialsDir.resolve(s.principal() + ".password"));
            connections.put(s.principal(), admin.as(s.principal(), password));
        }
        try (Admin client = Admin.create(KafkaSettings.admin(admin, "provisioning"))) {
            List<UserScramCredentialAlteration> users = new ArrayList<>();
            for (KafkaConnection c : connections.values()) {
                users.add(new UserScramCredentialUpsertion(
                        c.username(),
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                        c.password()));
            }
            client.alterUserScramCredentials(users).all().get();

            Set<AclBinding> wanted = new LinkedHashSet<>();
            for (ServiceTopics s : ServiceTopics.ALL) wanted.addAll(acls(s));
            List<AclBindingFilter> stale = new ArrayList<>();
            for (ServiceTopics s : ServiceTopics.ALL) {
                for (AclBinding b : client.describeAcls(principalFilter(s.principal()))
                        .values()
                        .get()) {
                    if (!wanted.contains(b)) stale.add(b.toFilter());
                }
            }
            if (!stale.isEmpty()) client.deleteAcls(stale).all().get();
            client.createAcls(wanted).all().get(); // an ACL that exists already is kept as it is
            // the controller has them; wait until the broker applied them too, so what follows is not refused
            awaitAcls(client, wanted);
            for (KafkaConnection c : connections.values()) awaitLogin(c);
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "cannot provision the Kafka principals on " + admin.bootstrapServers() + ": "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while provisioning Kafka principals", e);
        }
        return connections;
    }

    private static void awaitAcls(Admin client, Set<AclBinding> wanted)
            throws ExecutionException, InterruptedException {
        long deadline = System.nanoTime() + PROPAGATION.toNanos();
        while (!client.describeAcls(AclBindingFilter.ANY).values().get().containsAll(wanted)) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the broker did not apply the ACLs");
            Thread.sleep(50);
        }
    }

    /** A new or changed SCRAM credential reaches the broker after the controller committed it. */
    private static void awaitLogin(KafkaConnection c) throws ExecutionException, InterruptedException {
        long deadline = System.nanoTime() + PROPAGATION.toNanos();
        Properties p = KafkaSettings.admin(c, "provisioning-check");
        try (Admin client = Admin.create(p)) {
            while (true) {
                try {
                    client.describeCluster().nodes().get();
                    return;
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof SaslAuthenticationException) || System.nanoTime() > deadline) throw e;
                    Thread.sleep(50);
                }
            }
        }
    }

    /** The ACLs of one service's principal: its row of {@link ServiceTopics}, nothing more. */
    public static List<AclBinding> acls(ServiceTopics s) {
        String principal = "User:" + s.principal();
        List<AclBinding> acls = new ArrayList<>();
        for (Topic t : s.reads()) acls.add(allow(principal, ResourceType.TOPIC, t.name(), AclOperation.READ));
        for (Topic t : s.writes()) acls.add(allow(principal, ResourceType.TOPIC, t.name(), AclOperation.WRITE));
        acls.add(allow(principal, ResourceType.GROUP, s.group(), AclOperation.READ));
        return acls;
    }

    /** The ACLs of all service principals as the broker holds them. */
    public static Set<AclBinding> current(KafkaConnection admin, Collection<String> principals)
            throws ExecutionException, InterruptedException {
        Set<AclBinding> all = new LinkedHashSet<>();
        try (Admin client = Admin.create(KafkaSettings.admin(admin, "acl-check"))) {
            for (String p : principals)
                all.addAll(client.describeAcls(principalFilter(p)).values().get());
        }
        return all;
    }

    private static AclBinding allow(String principal, ResourceType type, String name, AclOperation op) {
        return new AclBinding(
                new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }

    private static AclBindingFilter principalFilter(String principal) {
        return new AclBindingFilter(
                ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:" + principal, null, AclOperation.ANY, AclPermissionType.ANY));
    }
}
