package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.security.Ed25519;
import ai.coalora.fleet.security.PackageManifest;
import ai.coalora.fleet.security.SigningKey;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Packages an attacker who can write the adapter-ready topic would send: the right files and hashes with no valid
 * signature (unsigned, or signed by a key the attacker delegated to itself), and a genuine older manifest replayed.
 * Devices must refuse every one.
 */
final class ForgedPackages {
    /** How a package is forged. */
    enum Kind {
        UNSIGNED,
        SELF_SIGNED,
        REPLAYED
    }

    private static final KeyPair ATTACKER = Ed25519.generate();

    private ForgedPackages() {}

    /**
     * The forged package for a device that has received {@code seen} (oldest first): its latest package with no or a
     * foreign signature, or its first package's genuine manifest again.
     */
    static AdapterReady forge(Kind kind, List<AdapterReady> seen) {
        AdapterReady latest = seen.get(seen.size() - 1), first = seen.get(0);
        AdapterReady base = kind == Kind.REPLAYED ? first : latest;
        PackageManifest.Signed manifest = switch (kind) {
            case UNSIGNED -> null; // the right files and hashes, nothing vouching for them
            case SELF_SIGNED ->
                latest.manifest()
                        .manifest()
                        .sign(
                                ATTACKER.getPrivate(),
                                SigningKey.delegate(
                                        ATTACKER.getPrivate(),
                                        ATTACKER.getPublic(),
                                        Instant.now().plusSeconds(3600)));
            case REPLAYED -> first.manifest(); // genuine, but older than what the device applied since
        };
        return new AdapterReady(
                base.deviceId(),
                base.assignmentId(),
                base.modelVersion(),
                base.configId(),
                base.averageBits(),
                base.packageSha256(),
                base.artifacts(),
                manifest);
    }

    /** Writes the packages to the adapter-ready topic, as the generator's events. */
    static void send(KafkaProducer<String, byte[]> producer, List<AdapterReady> forged) {
        for (AdapterReady f : forged) {
            CloudEvent e = CloudEvent.create(
                    "/coalora/adapter-generator", EventTypes.ADAPTER_READY, f.deviceId(), null, Payloads.toJson(f));
            producer.send(new ProducerRecord<>(
                    Topic.ADAPTERS_READY.name(),
                    null,
                    f.deviceId(),
                    KafkaCloudEvents.value(e),
                    KafkaCloudEvents.headers(e)));
        }
        producer.flush();
    }
}
