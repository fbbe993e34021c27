package dev.loupe.tensor;

/** The record an op leaves on its output: its name, its inputs, and the closure that pushes gradients to them. */
final class GradNode {
    final String op;
    Tensor[] inputs;
    GradFn fn;

    GradNode(String op, GradFn fn, Tensor[] inputs) {
        this.op = op;
        this.fn = fn;
        this.inputs = inputs;
    }

    boolean released() {
        return fn == null;
    }

    /** Drops the closure and the inputs so that the activations they hold can be collected. */
    void release() {
        fn = null;
        inputs = null;
    }
}
