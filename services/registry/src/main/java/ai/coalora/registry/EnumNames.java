package ai.coalora.registry;

import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Lookups of the rollout enums by their column and API names, shared so each enum only says what its name is. */
final class EnumNames {
    private EnumNames() {}

    /** The constant whose name is {@code name}, if any. */
    static <E> Optional<E> find(E[] values, Function<E, String> nameOf, String name) {
        return Arrays.stream(values).filter(v -> nameOf.apply(v).equals(name)).findFirst();
    }

    /** Every name, comma-separated, for error messages. */
    static <E> String list(E[] values, Function<E, String> nameOf) {
        return Arrays.stream(values).map(nameOf).collect(Collectors.joining(", "));
    }
}
