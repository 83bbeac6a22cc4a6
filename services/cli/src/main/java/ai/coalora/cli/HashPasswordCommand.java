package ai.coalora.cli;

import ai.coalora.fleet.security.Role;
import ai.coalora.fleet.security.Users;
import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Writes a users-file line: the services keep only PBKDF2 hashes, never the password. */
@Command(
        name = "hash-password",
        mixinStandardHelpOptions = true,
        description =
                "Prints the users-file line (name:role:pbkdf2-sha256$...) for a user. The password is read from the terminal "
                        + "without echo, or from the first line of standard input; it is never written anywhere. Append the line to the file "
                        + "COALORA_USERS_FILE points at (every service reads it at startup).")
final class HashPasswordCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "User name (letters, digits, . _ -).")
    String name;

    @Parameters(
            index = "1",
            description =
                    "Role: viewer (reads), operator (also rollouts, uploads, registrations, enrolments), trainer (an operator that may "
                            + "also move the canary alias) or admin (also promotes, audit).")
    String role;

    @Override
    public Integer call() throws Exception {
        Role r = Role.parse(role);
        if (!name.matches("[A-Za-z0-9._-]{1,64}"))
            throw new IllegalArgumentException("user name: 1-64 letters, digits, . _ -");
        char[] password;
        Console console = System.console();
        if (console != null) {
            password = console.readPassword("password for %s: ", name);
        } else {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            password = line == null ? null : line.toCharArray();
        }
        if (password == null || password.length < 8)
            throw new IllegalArgumentException("a password of at least 8 characters is required");
        System.out.println(Users.line(name, r, password));
        Arrays.fill(password, '\0');
        return 0;
    }
}
