package ai.coalora.fleet.security;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** A user name and password a client presents with HTTP Basic authentication. */
public record Credentials(String user, String password) {
    public Credentials {
        if (user == null || user.isBlank() || user.contains(":"))
            throw new IllegalArgumentException("credentials need a user name without ':'");
        if (password == null) throw new IllegalArgumentException("credentials need a password");
    }

    public String authorizationHeader() {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "Credentials[" + user + "]";
    } // never print the password
}
