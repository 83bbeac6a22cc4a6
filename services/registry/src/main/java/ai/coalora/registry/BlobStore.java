package ai.coalora.registry;

import ai.coalora.common.Sha256;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Content-addressed files: a blob is stored under its sha256, checked while it streams in, made visible
 * by an atomic rename, and recorded in the {@code blobs} table. Same bytes, same address, stored once.
 */
@ApplicationScoped
public class BlobStore {
    /** The bytes did not match the address they were sent to, or were too large. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    @ConfigProperty(name = "coalora.registry.blob-dir")
    String dir;

    @ConfigProperty(name = "coalora.registry.max-blob-bytes")
    long maxBytes;

    final AgroalDataSource dataSource;

    BlobStore(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    public Path path(String sha256) {
        return Path.of(dir).resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    public Optional<Path> find(String sha256) {
        if (!Sha256.isValid(sha256)) return Optional.empty();
        Path p = path(sha256);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** Stores the stream under {@code sha256}; returns false if it was already there. */
    public boolean put(String sha256, InputStream in) throws IOException, Refused, SQLException {
        if (!Sha256.isValid(sha256)) throw new Refused("'" + sha256 + "' is not a lowercase hex sha256");
        Path target = path(sha256);
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), sha256, ".part");
        long size = 0;
        try {
            Sha256 digest = new Sha256();
            try (InputStream src = in;
                    OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = src.read(buf)) > 0; ) {
                    size += n;
                    if (size > maxBytes) throw new Refused("blob larger than the limit of " + maxBytes + " bytes");
                    digest.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            }
            String actual = digest.hex();
            if (!actual.equals(sha256)) throw new Refused("content has sha256 " + actual + ", not " + sha256);
            boolean fresh = !Files.exists(target);
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    try (PreparedStatement st = c.prepareStatement(
                            "insert into blobs (sha256, bytes) values (?, ?) on conflict do nothing")) {
                        st.setString(1, sha256);
                        st.setLong(2, size);
                        st.executeUpdate();
                    }
                    AuditLog.inTransaction(c);
                    // the file appears only with its row and its audit record
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    c.commit();
                } catch (IOException | SQLException | RuntimeException e) {
                    c.rollback();
                    throw e;
                }
            }
            return fresh;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
