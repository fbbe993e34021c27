package dev.loupe.weights;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One file memory-mapped read-only, whole, with bounds-checked little-endian reads that turn a truncated or lying
 * file into a {@link WeightFileException} instead of an index error.
 *
 * <p>The mapping lives in a shared arena, so slices may be read from any thread until {@link #close()}, which unmaps
 * it; later reads of any slice throw {@link IllegalStateException}.
 */
final class MappedFile implements AutoCloseable {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment bytes;

    private MappedFile(Path path, Arena arena, MemorySegment bytes) {
        this.path = path;
        this.arena = arena;
        this.bytes = bytes;
    }

    /** Parses a mapped file into a checkpoint; on failure the caller releases the mapping. */
    @FunctionalInterface
    interface Reader {
        Checkpoint read(MappedFile file) throws IOException;
    }

    /**
     * Maps {@code path} and hands it to {@code reader}; if the reader throws, the mapping is released before the
     * exception propagates, so a rejected file leaves nothing mapped. The returned checkpoint owns the mapping.
     */
    static Checkpoint read(Path path, Reader reader) throws IOException {
        MappedFile mf = open(path);
        try {
            return reader.read(mf);
        } catch (IOException | RuntimeException e) {
            mf.close();
            throw e;
        }
    }

    /** Maps {@code path}; the channel is closed at once, the mapping stays valid until {@link #close()}. */
    static MappedFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return new MappedFile(path, arena, ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    Path path() {
        return path;
    }

    /** File size in bytes. */
    long size() {
        return bytes.byteSize();
    }

    /** The bytes {@code [offset, offset + length)}, without copying; {@code what} names them in the error. */
    MemorySegment slice(long offset, long length, String what) throws WeightFileException {
        check(offset, length, what);
        return bytes.asSlice(offset, length);
    }

    /** A heap copy of the bytes {@code [offset, offset + length)}. */
    byte[] copy(long offset, int length, String what) throws WeightFileException {
        return slice(offset, length, what).toArray(ValueLayout.JAVA_BYTE);
    }

    long u64(long offset, String what) throws WeightFileException {
        check(offset, 8, what);
        return bytes.get(U64, offset);
    }

    /** Unsigned 32-bit value, in a long. */
    long u32(long offset, String what) throws WeightFileException {
        check(offset, 4, what);
        return Integer.toUnsignedLong(bytes.get(U32, offset));
    }

    /** Unsigned 16-bit value. */
    int u16(long offset, String what) throws WeightFileException {
        check(offset, 2, what);
        return Short.toUnsignedInt(bytes.get(U16, offset));
    }

    private void check(long offset, long length, String what) throws WeightFileException {
        if (offset < 0 || length < 0 || offset > size() - length) {
            throw new WeightFileException(path, "truncated or corrupt: " + what + " needs bytes [" + offset + ", "
                    + (offset + length) + ") but the file has " + size());
        }
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
