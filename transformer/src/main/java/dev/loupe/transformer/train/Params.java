package dev.loupe.transformer.train;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.MappedStorage;
import dev.loupe.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A parameter and its gradient as flat [n] tensors in the same element order, which is what the backends' update
 * rules loop over. The order is the parameter's storage order, so a dense transposed view (an untied unembedding
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
     * Checks that {@code p} can be updated in place: a leaf in writable float32 storage (the heap or a device) whose
     * elements fill one gapless block of it. Returns the permutation to its storage order.
     */
    static int[] check(Tensor p, int group, int index) {
        String where = "parameter " + index + " of group " + group + " " + Arrays.toString(p.shape());
        if (!p.isLeaf()) throw new IllegalArgumentException(where + " is not a leaf (made by " + p.gradOp() + ")");
        if (p.storage() instanceof MappedStorage || p.storage().dtype() != DType.F32) {
            throw new IllegalArgumentException(where + " is on " + p.storage() + ", not writable float32 memory: "
                    + "load with Placement.HEAP to train");
        }
        int[] order = storageOrder(p);
        if (!p.permute(order).isContiguous()) {
            throw new IllegalArgumentException(where + " with strides " + Arrays.toString(p.strides())
                    + " does not cover a gapless block of its storage");
        }
        return order;
    }

    /** {@code p}'s elements in storage order {@code order} as a flat [n] view sharing its storage. */
    static Tensor flat(Tensor p, int[] order) {
        return p.detach().permute(order).view(p.numel());
    }

    /**
     * {@code grad}'s elements in the storage order {@code order} of its parameter as a contiguous [n] tensor on its
     * device (a view when already so laid out, else a copy).
     *
     * @throws IllegalArgumentException when the gradient is not on the parameter's device
     */
    static Tensor flatGrad(Tensor param, Tensor grad, int[] order) {
        if (!grad.device().equals(param.device())) {
            throw new IllegalArgumentException("gradient of parameter " + Arrays.toString(param.shape()) + " is on "
                    + grad.device() + " but the parameter is on " + param.device());
        }
        return grad.detach().permute(order).contiguous().view(grad.numel());
    }
}
