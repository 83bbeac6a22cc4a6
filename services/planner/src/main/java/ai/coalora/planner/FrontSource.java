package ai.coalora.planner;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where the planner reads fronts and alias moves: the registry's own records. A model event only says "look again":
 * whoever can write it cannot choose what the fleet is planned on, and an event the registry has no record of is
 * refused. An unreachable registry is an outage (IOException): the batch waits, nothing is skipped.
 */
public interface FrontSource {
    /** Where an alias points now, and every version it ever pointed at. */
    record Alias(String current, Set<String> history) {}

    /** The alias as the registry has it; empty if there is no such alias. */
    Optional<Alias> alias(String alias) throws IOException;

    /** The version's front as registered; empty if the registry has no such version. */
    Optional<List<FrontEntry>> front(String modelVersion) throws IOException;

    /** The registry's HTTP API (the planner's account is a viewer). */
    static FrontSource registry(RegistryClient registry) {
        return new FrontSource() {
            @Override
            public Optional<Alias> alias(String alias) throws IOException {
                JsonNode a = registry.getJsonOrNull("api/aliases/" + alias);
                if (a == null) return Optional.empty();
                Set<String> history = new LinkedHashSet<>();
                for (JsonNode move : a.path("history"))
                    history.add(move.path("modelVersion").asText());
                return Optional.of(new Alias(a.path("modelVersion").asText(), history));
            }

            @Override
            public Optional<List<FrontEntry>> front(String modelVersion) throws IOException {
                JsonNode v = registry.getJsonOrNull("api/versions/" + modelVersion);
                if (v == null) return Optional.empty();
                return Optional.of(
                        Payloads.JSON.convertValue(v.path("front"), new TypeReference<List<FrontEntry>>() {}));
            }
        };
    }
}
