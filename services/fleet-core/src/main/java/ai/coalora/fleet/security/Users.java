package ai.coalora.fleet.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The users file every service authenticates against: one user per line, {@code name:role:hash} with a
 * {@link PasswordHash} hash; blank lines and lines starting with # are ignored. Any malformed line makes the
 * whole file an error naming the line (a half-read users file is never used).
 */
public record Users(Map<String, User> byName) {
    public record User(String name, Role role, String passwordHash) {}

    public Users {
        byName = Map.copyOf(byName);
    }

    public static Users read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(
                    "no users file at " + file + ": create one with `./coalora hash-password <name> <role>` lines "
                            + "(format name:role:pbkdf2-sha256$...) and point COALORA_USERS_FILE at it");
        }
        return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
    }

    public static Users parse(List<String> lines, String where) {
        Map<String, User> users = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] parts = line.split(":", 3);
            String at = where + " line " + (i + 1);
            if (parts.length != 3 || !parts[0].matches("[A-Za-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException(
                        at + ": expected name:role:hash with a name of letters, digits, . _ -");
            }
            Role role;
            try {
                role = Role.parse(parts[1]);
                PasswordHash.checkFormat(parts[2]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
            }
            if (users.put(parts[0], new User(parts[0], role, parts[2])) != null)
                throw new IllegalArgumentException(at + ": duplicate user " + parts[0]);
        }
        return new Users(users);
    }

    /** The line for a user, as the users file holds it. */
    public static String line(String name, Role role, char[] password) {
        return name + ":" + role.roleName() + ":" + PasswordHash.hash(password);
    }
}
