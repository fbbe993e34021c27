package dev.loupe.transformer.train;

import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A parameter and its gradient as flat float arrays in the same element order, which is what the update rules
 * loop over. The order is the parameter's storage order, so a dense transposed view (an untied unembedding
 * {@code [d_model, d_vocab]} over an {@code [d_vocab, d_model]} file tensor) is updated without copies.
 */
final class Params {
    private Params() {
    }

    /** The dims of {@code t} sorted by decreasing stride: permuting by them gives its storage order. */
    static int[] storageOrder(Tensor t) {
        int[] st = t.strides();
        return IntStream.range(0, t.rank()).boxed()
                .sorted(Comparator.comparingInt((Integer d) -> -st[d]))
                .mapToInt(Integer::intValue).toArray();
    }

    /**
     * Checks that {@code p} can be updated in place: a leaf on the heap whose elements fill one gapless block of its
     * storage. Returns the permutation to its storage order.
     */
    static int[] check(Tensor p, int group, int index) {
        String where = "parameter " + index + " of group " + group + " " + Arrays.toString(p.shape());
        if (!p.isLeaf()) throw new IllegalArgumentException(where + " is not a leaf (made by " + p.gradOp() + ")");
        if (!(p.storage() instanceof FloatStorage)) {
            throw new IllegalArgumentException(where + " is on " + p.storage() + ", not the heap: load with "
                    + "Placement.HEAP to train");
        }
        int[] order = storageOrder(p);
        if (!p.permute(order).isContiguous()) {
            throw new IllegalArgumentException(where + " with strides " + Arrays.toString(p.strides())
                    + " does not cover a gapless block of its storage");
        }
        return order;
    }

    /** {@code grad}'s elements in the storage order {@code order} of its parameter, contiguous on the heap. */
    static Tensor inOrder(Tensor grad, int[] order) {
        Tensor g = grad.permute(order);
        if (!g.isContiguous() || !(g.storage() instanceof FloatStorage)) g = Tensor.wrap(g.toFloatArray(), g.shape());
        return g;
    }

    static float[] array(Tensor t) {
        return ((FloatStorage) t.storage()).array();
    }
}
