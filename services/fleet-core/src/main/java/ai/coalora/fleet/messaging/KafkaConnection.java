package ai.coalora.fleet.messaging;

import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.security.scram.ScramLoginModule;

/**
 * Where a Kafka client connects and as whom: the brokers, the principal's SCRAM-SHA-512 name and password, and
 * whether the connection is also encrypted ({@code SASL_SSL}, with the brokers' CA certificate as a PEM file) or not
 * ({@code SASL_PLAINTEXT}: the broker on 127.0.0.1, or a cluster-internal listener; SCRAM never sends the password
 * itself). Every client of the fleet authenticates: the brokers refuse anonymous connections.
 */
public record KafkaConnection(
        String bootstrapServers, String username, String password, String securityProtocol, String truststoreFile) {
    public static final String MECHANISM = "SCRAM-SHA-512";
    public static final String SASL_PLAINTEXT = "SASL_PLAINTEXT", SASL_SSL = "SASL_SSL";
    private static final Set<String> PROTOCOLS = Set.of(SASL_PLAINTEXT, SASL_SSL);

    public KafkaConnection {
        if (bootstrapServers == null || bootstrapServers.isBlank())
            throw new IllegalArgumentException("no Kafka bootstrap servers");
        if (username == null || username.isBlank())
            throw new IllegalArgumentException(
                    "no Kafka user name (KAFKA_SASL_USERNAME): the brokers refuse anonymous clients");
        if (password == null || password.isEmpty())
            throw new IllegalArgumentException("no password for Kafka user " + username + " (KAFKA_SASL_PASSWORD)");
        if (!PROTOCOLS.contains(securityProtocol))
            throw new IllegalArgumentException(
                    "Kafka security protocol " + securityProtocol + " is not one of " + PROTOCOLS);
        if (truststoreFile != null && truststoreFile.isBlank()) truststoreFile = null;
    }

    /** SCRAM-SHA-512 over an unencrypted connection. */
    public static KafkaConnection scram(String bootstrapServers, String username, String password) {
        return new KafkaConnection(bootstrapServers, username, password, SASL_PLAINTEXT, null);
    }

    /** The same brokers and transport as another principal. */
    public KafkaConnection as(String otherUser, String otherPassword) {
        return new KafkaConnection(bootstrapServers, otherUser, otherPassword, securityProtocol, truststoreFile);
    }

    /** What every client (producer, consumer, admin) needs to reach the brokers and log in. */
    public Properties properties() {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, securityProtocol);
        p.put(SaslConfigs.SASL_MECHANISM, MECHANISM);
        p.put(SaslConfigs.SASL_JAAS_CONFIG, jaasConfig(username, password));
        if (truststoreFile != null) {
            p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, truststoreFile);
        }
        return p;
    }

    /** The login module line for a SCRAM user; quotes and backslashes escaped as the JAAS parser expects. */
    public static String jaasConfig(String username, String password) {
        return ScramLoginModule.class.getName() + " required username=\"" + quote(username) + "\" password=\""
                + quote(password) + "\";";
    }

    static String quote(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @Override
    public String toString() {
        return "KafkaConnection[" + username + "@" + bootstrapServers + ", " + securityProtocol + "]";
    } // never print the password
}
