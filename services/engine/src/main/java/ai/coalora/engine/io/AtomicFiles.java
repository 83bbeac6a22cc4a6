package ai.coalora.engine.io;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file so that a reader sees the old content or the new, never a half-written file: a crash or a
 * full disk mid-write leaves at most a hidden temp file, not a corrupt result.
 */
final class AtomicFiles {
    private AtomicFiles() {}

    static void write(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // Same directory as the target: a rename is only atomic within one file system.
        String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong());
        Path temp = dir.resolve("." + target.getFileName() + "." + suffix + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, CREATE_NEW, WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) channel.write(buffer);
                channel.force(true); // on disk before the rename makes it visible
            }
            Files.move(temp, target, ATOMIC_MOVE); // replaces an existing target on POSIX
        } finally {
            Files.deleteIfExists(temp); // only still there if something failed
        }
    }
}
