package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Dim merging and packing, held to the definition: for random views (permuted, sliced, broadcast), element i of every
 * operand is found at the same storage offset through the packed ints (read as the kernels' offset_of reads them)
 * as through the view's own shape and strides.
 */
class GeometryTest {
    /** The kernels' offset_of over a packed Geometry (common.cuh), transcribed. */
    private static long kernelOffset(int[] packed, int op, long i) {
        int rank = packed[0];
        long off = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int s = packed[2 + d];
            off += (i % s) * packed[2 + Geometry.MAX_DIMS + op * Geometry.MAX_DIMS + d];
            i /= s;
        }
        return off;
    }

    /** Offset of row-major element i of a view, from its own shape and strides. */
    private static long viewOffset(int[] shape, int[] strides, long i) {
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            off += (i % shape[d]) * strides[d];
            i /= shape[d];
        }
        return off;
    }

    @Test
    void mergedGeometryAddressesEveryElementOfRandomViewsAsTheViewsDo() {
        Rng rng = new Rng(7);
        int merges = 0;
        for (int trial = 0; trial < 300; trial++) {
            int rank = 1 + rng.nextInt(6);
            int[] shape = new int[rank];
            for (int d = 0; d < rank; d++) shape[d] = 1 + rng.nextInt(4);
            Tensor a = view(rng, shape), b = view(rng, shape);
            Tensor out = Tensor.zeros(shape);
            Geometry g = Geometry.merged(shape, a.strides(), b.strides(), out.strides());
            int[] packed = g.pack();
            assertEquals(out.numel(), packed[1]);
            assertTrue(packed[0] <= rank);
            if (packed[0] < rank) merges++;
            Tensor[] ops = {a, b, out};
            for (long i = 0; i < out.numel(); i++) {
                for (int op = 0; op < 3; op++) {
                    assertEquals(viewOffset(shape, ops[op].strides(), i), kernelOffset(packed, op, i),
                            "trial " + trial + " operand " + op + " element " + i);
                }
            }
        }
        assertTrue(merges > 50, "merging should shorten most random geometries, did " + merges);
    }

    @Test
    void contiguousOperandsOfAnyRankMergeIntoOneDim() {
        Tensor t = Tensor.zeros(2, 3, 4, 5);
        Geometry g = Geometry.merged(t.shape(), t.strides(), t.strides());
        assertArrayEquals(new int[] {120}, g.shape());
        assertArrayEquals(new int[] {1}, g.strides()[0]);
    }

    @Test
    void gemmGeometryPacksStridesOfATransposedBatchedProduct() {
        Tensor a = Tensor.zeros(2, 3, 5, 4).transpose(2, 3); // [2, 3, 4, 5] with column-major matrices
        Tensor b = Tensor.zeros(1, 1, 5, 6).expand(2, 3, 5, 6); // broadcast over the batch
        Tensor out = Tensor.zeros(2, 3, 4, 6);
        GemmGeometry g = GemmGeometry.of(a.shape(), a.strides(), b.shape(), b.strides(), out.strides(), true);
        int[] p = g.pack();
        assertEquals(GemmGeometry.PACKED_INTS, p.length);
        assertArrayEquals(new int[] {4, 6, 5, 6, 1, 6}, java.util.Arrays.copyOf(p, 6)); // m n k batch rank shape0
        assertEquals(20, p[5 + GemmGeometry.MAX_BATCH_DIMS]); // a: one [5, 4] matrix per batch element
        assertEquals(0, p[5 + 2 * GemmGeometry.MAX_BATCH_DIMS]); // b broadcast
        assertEquals(24, p[5 + 3 * GemmGeometry.MAX_BATCH_DIMS]); // out
        assertArrayEquals(new int[] {1, 4, 6, 1, 6, 1}, java.util.Arrays.copyOfRange(p, 21, 27));
        assertEquals(1, p[27]);
    }

    /** A random view of the given shape: a permuted, possibly sliced or broadcast view of some larger tensor. */
    private static Tensor view(Rng rng, int[] shape) {
        int rank = shape.length;
        switch (rng.nextInt(3)) {
            case 0 -> {
                return Tensor.zeros(shape);
            }
            case 1 -> { // broadcast: a random subset of dims has size 1 and is expanded
                int[] small = shape.clone();
                for (int d = 0; d < rank; d++) if (rng.nextInt(2) == 0) small[d] = 1;
                return Tensor.zeros(small).expand(shape);
            }
            default -> { // a narrowed view of a bigger tensor, then transposed back and forth
                int[] big = shape.clone();
                for (int d = 0; d < rank; d++) big[d] += rng.nextInt(2);
                Tensor t = Tensor.zeros(big);
                for (int d = 0; d < rank; d++) t = t.narrow(d, big[d] - shape[d], shape[d]);
                if (rank >= 2) t = t.transpose(0, rank - 1).contiguous().transpose(0, rank - 1);
                return t;
            }
        }
    }
}
