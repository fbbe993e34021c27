package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
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

/**
 * Ops on memory-mapped weights read them in pieces (matmul a block of B's columns at a time, indexSelect only the
 * selected rows) rather than widening the whole tensor: the results must equal those on a heap copy exactly, and a
 * double-precision recomputation of sampled entries.
 */
class MappedOperandTest {
    @TempDir
    Path dir;

    /** {@code values} written as little-endian F32 (or BF16: the top halves) to a file and mapped read-only. */
    private MappedStorage map(Arena arena, float[] values, DType dtype) throws IOException {
        int bytes = dtype == DType.F32 ? 4 : 2;
        ByteBuffer b = ByteBuffer.allocate(values.length * bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            if (dtype == DType.F32) b.putFloat(v);
            else b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
        }
        Path file = dir.resolve("w" + System.nanoTime() + ".bin");
        Files.write(file, b.array());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, (long) values.length * bytes, arena);
            return new MappedStorage(seg, dtype);
        }
    }

    private static void assertMatchesDouble(Tensor a, Tensor b, Tensor c) {
        int m = a.size(0), k = a.size(1), n = b.size(1);
        for (int i = 0; i < m; i += Math.max(1, m / 3)) {
            for (int j = 0; j < n; j += 97) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a.get(i, p) * b.get(p, j);
                assertEquals(s, c.get(i, j), 1e-4 * (1 + Math.abs(s)), "C[" + i + ", " + j + "]");
            }
        }
    }

    @Test
    void matmulWithAMappedRightOperandWiderThanOneBlockEqualsTheHeapProduct() throws IOException {
        // k * n = 1.4M floats: more than one widening block, so the column blocks must be stitched exactly.
        int k = 700, n = 2000;
        Rng rng = new Rng(3);
        Tensor heapB = Tensor.randn(rng, k, n), heapBt = Tensor.randn(rng, n, k);
        try (Arena arena = Arena.ofShared()) {
            Tensor b = Tensor.fromStorage(map(arena, heapB.toFloatArray(), DType.F32), new int[] {k, n},
                    new int[] {n, 1}, 0);
            // The unembedding case: a [d_vocab, d_model] table read transposed as [d_model, d_vocab].
            Tensor bt = Tensor.fromStorage(map(arena, heapBt.toFloatArray(), DType.F32), new int[] {n, k},
                    new int[] {k, 1}, 0).transpose(0, 1);
            for (int m : new int[] {2, 37}) { // the direct (thin) path and the packed path
                Tensor a = Tensor.randn(rng, m, k);
                Tensor c = a.matmul(b);
                assertArrayEquals(a.matmul(heapB).toFloatArray(), c.toFloatArray(), "row-major B, m=" + m);
                assertMatchesDouble(a, heapB, c);
                Tensor ct = a.matmul(bt);
                assertArrayEquals(a.matmul(heapBt.transpose(0, 1)).toFloatArray(), ct.toFloatArray(),
                        "transposed B, m=" + m);
                assertMatchesDouble(a, heapBt.transpose(0, 1), ct);
            }
        }
    }

    @Test
    void batchedMatmulWithAMappedRightOperandEqualsTheHeapProduct() throws IOException {
        Rng rng = new Rng(4);
        Tensor heapB = Tensor.randn(rng, 3, 40, 50);
        try (Arena arena = Arena.ofShared()) {
            Tensor b = Tensor.fromStorage(map(arena, heapB.toFloatArray(), DType.F32), new int[] {3, 40, 50},
                    new int[] {2000, 50, 1}, 0);
            Tensor a = Tensor.randn(rng, 3, 9, 40);
            assertArrayEquals(a.matmul(heapB).toFloatArray(), a.matmul(b).toFloatArray());
        }
    }

    @Test
    void embeddingFromAMappedTableReadsTheSelectedRows() throws IOException {
        int vocab = 1000, d = 24;
        float[] table = Tensor.randn(new Rng(5), vocab, d).toFloatArray();
        Tensor ids = Tensor.indices(new int[][] {{3, 999, 0}, {3, 500, 17}});
        try (Arena arena = Arena.ofShared()) {
            for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
                Tensor w = Tensor.fromStorage(map(arena, table, dtype), new int[] {vocab, d}, new int[] {d, 1}, 0);
                Tensor e = Tensor.embedding(w, ids);
                assertArrayEquals(new int[] {2, 3, d}, e.shape());
                for (int r = 0; r < 2; r++) {
                    for (int i = 0; i < 3; i++) {
                        int id = (int) ids.get(r, i);
                        for (int j = 0; j < d; j++) {
                            float want = table[id * d + j];
                            if (dtype == DType.BF16) want = Float.intBitsToFloat(Float.floatToRawIntBits(want) & 0xFFFF0000);
                            assertEquals(want, e.get(r, i, j), dtype + " row " + id + " col " + j);
                        }
                    }
                }
            }
        }
    }
}
