package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappedStorageTest {
    @TempDir
    Path dir;

    /** Writes {@code bytes} after {@code pad} junk bytes and maps the bytes (not the padding) read-only. */
    private MemorySegment map(Arena arena, int pad, byte[] bytes) throws IOException {
        Path file = dir.resolve("w" + System.nanoTime() + ".bin");
        byte[] all = new byte[pad + bytes.length];
        java.util.Arrays.fill(all, 0, pad, (byte) 0x7F);
        System.arraycopy(bytes, 0, all, pad, bytes.length);
        Files.write(file, all);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, pad, bytes.length, arena);
        }
    }

    private static byte[] shortsLE(int... words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) b.putShort((short) w);
        return b.array();
    }

    @Test
    void f32ElementsAtAnUnalignedFileOffsetReadBackExactly() throws IOException {
        float[] values = {1.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, 3.25e-7f};
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        try (Arena arena = Arena.ofShared()) {
            MappedStorage s = new MappedStorage(map(arena, 3, b.array()), DType.F32);
            assertEquals(values.length, s.size());
            assertEquals(DType.F32, s.dtype());
            float[] out = new float[values.length + 2];
            s.read(0, out, 1, values.length);
            for (int i = 0; i < values.length; i++) {
                assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(out[i + 1]), "element " + i);
                assertEquals(values[i], s.get(i));
            }
        }
    }

    @Test
    void f16WidensByTheIeeeHalfRulesIncludingSubnormalsAndInfinity() throws IOException {
        // bit patterns from the IEEE 754 binary16 definition: 1, -2, max normal, smallest subnormal, +inf
        int[] bits = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00};
        float[] expected = {1f, -2f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY};
        try (Arena arena = Arena.ofConfined()) {
            MappedStorage s = new MappedStorage(map(arena, 1, shortsLE(bits)), DType.F16);
            float[] out = new float[bits.length];
            s.read(0, out, 0, bits.length);
            assertArrayEquals(expected, out);
            assertEquals(65504f, s.get(2));
        }
    }

    @Test
    void bf16WidensAsTheTopHalfOfAFloat32() throws IOException {
        int[] bits = {0x3F80, 0xC040, 0x4049, 0x0000, 0xFF80};
        float[] expected = {1f, -3f, 3.140625f, 0f, Float.NEGATIVE_INFINITY};
        try (Arena arena = Arena.ofConfined()) {
            MappedStorage s = new MappedStorage(map(arena, 0, shortsLE(bits)), DType.BF16);
            float[] out = new float[3];
            s.read(2, out, 0, 3);
            assertArrayEquals(new float[] {expected[2], expected[3], expected[4]}, out);
            assertEquals(-3f, s.get(1));
        }
    }

    @Test
    void bulkReadOfManyHalfElementsCrossesChunkBoundariesCorrectly() throws IOException {
        int n = 10_000;
        int[] bits = new int[n];
        for (int i = 0; i < n; i++) bits[i] = Float.floatToFloat16(i % 2048) & 0xFFFF; // integers < 2048 are exact
        try (Arena arena = Arena.ofConfined()) {
            MappedStorage s = new MappedStorage(map(arena, 0, shortsLE(bits)), DType.F16);
            float[] out = new float[n - 7];
            s.read(7, out, 0, out.length);
            for (int i = 0; i < out.length; i++) assertEquals((i + 7) % 2048, out[i], "element " + i);
        }
    }

    @Test
    void isReadOnlyAndRejectsReadsOutsideItsElements() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MappedStorage s = new MappedStorage(map(arena, 0, new byte[8]), DType.F32);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> s.set(0, 1f));
            assertEquals("read-only", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> s.get(2));
            assertThrows(IndexOutOfBoundsException.class, () -> s.get(-1));
            assertThrows(IndexOutOfBoundsException.class, () -> s.read(1, new float[2], 0, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> s.read(0, new float[1], 0, 2));
        }
    }

    @Test
    void rejectsASegmentThatIsNotAWholeNumberOfElements() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = map(arena, 0, new byte[5]);
            assertThrows(IllegalArgumentException.class, () -> new MappedStorage(seg, DType.F16));
        }
    }

    @Test
    void accessAfterTheArenaClosesFailsInsteadOfReadingFreedMemory() throws IOException {
        Arena arena = Arena.ofShared();
        MappedStorage s = new MappedStorage(map(arena, 0, new byte[8]), DType.F32);
        arena.close();
        assertThrows(IllegalStateException.class, () -> s.get(0));
    }

    @Test
    void tensorViewsReadThroughStridesIncludingATranspose() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(6 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) b.putFloat(i);
        try (Arena arena = Arena.ofConfined()) {
            MappedStorage s = new MappedStorage(map(arena, 0, b.array()), DType.F32);
            Tensor m = Tensor.fromStorage(s, new int[] {2, 3}, new int[] {3, 1}, 0);
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, m.toFloatArray());
            Tensor t = Tensor.fromStorage(s, new int[] {3, 2}, new int[] {1, 3}, 0);
            assertEquals(5f, t.get(2, 1));
            assertEquals(3f, t.get(0, 1));
            // A transposed mapped view copies onto the heap through Storage.read, element order as the view reads.
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.contiguous().toFloatArray());
            assertArrayEquals(new float[] {0 * 0 + 1 * 1 + 2 * 2, 3 * 0 + 4 * 1 + 5 * 2}, m.matmul(Tensor.of(new float[] {0, 1, 2}, 3)).toFloatArray());
        }
    }

    @Test
    void elementsBeyondIndexTwoToTheThirtyFirstOfASparseFileAreAddressable() throws IOException {
        Path file = dir.resolve("big.bin");
        long bytes = 5L << 30; // 5 GiB, sparse: costs no disk
        long idx = (1L << 31) + 5; // an element index no int can hold, at byte offset 4 GiB + 10
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(bytes);
            raf.seek(idx * 2);
            raf.write(new byte[] {0x00, 0x3E}); // f16 1.5 little-endian
        }
        try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedStorage s = new MappedStorage(ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena), DType.F16);
            assertEquals(bytes / 2, s.size());
            assertEquals(1.5f, s.get(idx));
            float[] out = new float[3];
            s.read(idx - 1, out, 0, 3);
            assertArrayEquals(new float[] {0f, 1.5f, 0f}, out);
        }
    }
}
