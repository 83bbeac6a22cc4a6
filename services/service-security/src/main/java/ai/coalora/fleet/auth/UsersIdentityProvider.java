package ai.coalora.fleet.auth;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.security.LoginThrottle;
import ai.coalora.fleet.security.PasswordHash;
import ai.coalora.fleet.security.RememberedLogins;
import ai.coalora.fleet.security.Users;
import io.quarkus.runtime.Startup;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.IdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.request.UsernamePasswordAuthenticationRequest;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.nio.file.Path;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Turns HTTP Basic credentials into an identity with roles, from the users file ({@link Users}); read once at
 * startup, so a missing or malformed file stops the service with the reason. A PBKDF2 check costs about 0.5 s,
 * so a successful one is remembered for a while under a SHA-256 of user and password (in memory only):
 * devices and services call many times a second. Guessing is slowed per name ({@link LoginThrottle}), and a name that
 * does not exist costs the same hash as one that does, so neither the answer nor its time tells which names exist.
 */
@ApplicationScoped
@Startup
public class UsersIdentityProvider implements IdentityProvider<UsernamePasswordAuthenticationRequest> {
    private final Users users;
    private final LoginThrottle throttle = new LoginThrottle();
    /** Checked for a name that does not exist, so that a failure costs the same whether the name exists or not. */
    private static final String ABSENT_USER_HASH = PasswordHash.hash("no such user".toCharArray());

    private final RememberedLogins remembered = new RememberedLogins();

    UsersIdentityProvider(@ConfigProperty(name = "coalora.auth.users-file") String usersFile) throws IOException {
        this.users = Users.read(Path.of(usersFile));
    }

    @Override
    public Class<UsernamePasswordAuthenticationRequest> getRequestType() {
        return UsernamePasswordAuthenticationRequest.class;
    }

    @Override
    public Uni<SecurityIdentity> authenticate(
            UsernamePasswordAuthenticationRequest request, AuthenticationRequestContext context) {
        return context.runBlocking(() -> {
            Users.User user = users.byName().get(request.getUsername());
            char[] password = request.getPassword().getPassword();
            String digest = digest(request.getUsername(), password);
            boolean known = user != null && remembered.remembered(digest);
            if (!known && throttle.waitNanos(request.getUsername()) > 0) {
                throw new AuthenticationFailedException("wrong user name or password"); // not even checked
            }
            boolean ok = known
                    || PasswordHash.verify(password, user == null ? ABSENT_USER_HASH : user.passwordHash())
                            && user != null;
            if (!ok) {
                throttle.failed(request.getUsername());
                throw new AuthenticationFailedException("wrong user name or password");
            }
            throttle.succeeded(request.getUsername());
            if (!known) remembered.checked(digest); // also after the window ran out: remembered for another one
            return QuarkusSecurityIdentity.builder()
                    .setPrincipal(new QuarkusPrincipal(user.name()))
                    .addRoles(user.role().grantedRoleNames())
                    .build();
        });
    }

    private static String digest(String user, char[] password) {
        return new Sha256()
                .update(user)
                .update((byte) 0)
                .update(new String(password))
                .hex();
    }
}
