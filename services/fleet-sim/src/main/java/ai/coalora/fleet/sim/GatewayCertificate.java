package ai.coalora.fleet.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed certificate for the device gateway on this machine (127.0.0.1 and localhost), made with the JDK's
 * keytool: the registry serves HTTPS with the PKCS12 key store, devices pin the PEM certificate. A deployment with its
 * own CA (cert-manager, an ingress) gives the registry its key store the same way and its devices the CA's certificate.
 *
 * @param keyStore the PKCS12 file the registry serves with (owner-only)
 * @param password its password
 * @param certificate the certificate in PEM, what devices trust
 */
public record GatewayCertificate(Path keyStore, String password, Path certificate) {
    public static final String KEY_STORE = "gateway.p12", CERTIFICATE = "gateway.pem";

    /** Makes the key store and certificate in {@code dir}, valid for a year. */
    public static GatewayCertificate create(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path p12 = dir.resolve(KEY_STORE), pem = dir.resolve(CERTIFICATE);
        Files.deleteIfExists(p12);
        byte[] secret = new byte[18];
        new SecureRandom().nextBytes(secret);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        keytool(List.of(
                "-genkeypair",
                "-alias",
                "gateway",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=coalora device gateway",
                "-ext",
                "SAN=ip:127.0.0.1,dns:localhost",
                "-validity",
                "365",
                "-storetype",
                "PKCS12",
                "-keystore",
                p12.toString(),
                "-storepass",
                password,
                "-keypass",
                password));
        try {
            Files.setPosixFilePermissions(p12, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
        String cert = keytool(List.of(
                "-exportcert", "-rfc", "-alias", "gateway", "-keystore", p12.toString(), "-storepass", password));
        Files.writeString(pem, cert);
        return new GatewayCertificate(p12, password, pem);
    }

    private static String keytool(List<String> args) throws IOException, InterruptedException {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        List<String> command = new ArrayList<>();
        command.add(keytool.toString());
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
            throw new IOException("keytool " + args.get(0) + " failed: " + out.strip());
        return out;
    }
}
