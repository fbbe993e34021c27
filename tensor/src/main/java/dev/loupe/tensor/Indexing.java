package dev.loupe.tensor;

import java.util.List;

/** Index-driven ops (indexSelect, gather, scatterAdd, topK) and joining (cat, stack, split), with gradients. */
final class Indexing {
    private Indexing() {
    }

    static Tensor indexSelect(Tensor a, int dim, Tensor index) {
        throw new UnsupportedOperationException("indexSelect: not yet implemented");
    }

    static Tensor gather(Tensor a, int dim, Tensor index) {
        throw new UnsupportedOperationException("gather: not yet implemented");
    }

    static Tensor scatterAdd(Tensor a, int dim, Tensor index, Tensor src) {
        throw new UnsupportedOperationException("scatterAdd: not yet implemented");
    }

    static Tensor cat(int dim, Tensor... tensors) {
        throw new UnsupportedOperationException("cat: not yet implemented");
    }

    static Tensor stack(int dim, Tensor... tensors) {
        throw new UnsupportedOperationException("stack: not yet implemented");
    }

    static List<Tensor> split(Tensor a, int dim, int... sizes) {
        throw new UnsupportedOperationException("split: not yet implemented");
    }

    static Tensor.TopK topK(Tensor a, int k, int dim, boolean largest) {
        throw new UnsupportedOperationException("topK: not yet implemented");
    }
}
