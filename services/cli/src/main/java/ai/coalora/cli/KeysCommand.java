package ai.coalora.cli;

import ai.coalora.fleet.security.FleetKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Creates the fleet's package-signing keys, or rotates the online one. */
@Command(
        name = "keys",
        mixinStandardHelpOptions = true,
        description = "The fleet's package-signing keys in DIR. 'init' creates the root key (" + FleetKeys.ROOT
                + ": keep it offline), its public half (" + FleetKeys.ROOT_PUBLIC + ": what every device pins at "
                + "enrolment) and an online signing key the root delegates (" + FleetKeys.SIGNING
                + ": the adapter-generator's COALORA_SIGNING_KEY_FILE). 'rotate' replaces the online key; devices accept "
                + "the new one at once.")
final class KeysCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "init or rotate")
    String action;

    @Parameters(index = "1", description = "The keys directory.")
    Path dir;

    @Option(
            names = "--days",
            defaultValue = "90",
            description = "How long the root vouches for the online key (default: ${DEFAULT-VALUE}).")
    int days;

    @Override
    public Integer call() throws Exception {
        if (days < 1) throw new IllegalArgumentException("--days must be >= 1");
        switch (action) {
            case "init" -> FleetKeys.init(dir, Duration.ofDays(days));
            case "rotate" -> FleetKeys.rotate(dir, Duration.ofDays(days));
            default -> throw new IllegalArgumentException("unknown action '" + action + "': init or rotate");
        }
        FleetKeys.Online online = FleetKeys.readOnline(dir.resolve(FleetKeys.SIGNING));
        System.out.println(dir.resolve(FleetKeys.SIGNING) + ": online key valid until "
                + online.signingKey().expires() + "; devices pin " + dir.resolve(FleetKeys.ROOT_PUBLIC));
        return 0;
    }
}
