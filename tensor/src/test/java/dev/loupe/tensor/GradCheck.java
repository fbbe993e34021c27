package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.Function;

/**
 * Finite-difference gradient check: the reference every differentiable op is held against.
 *
 * <p>For f: inputs -> output, it projects the output on a fixed random tensor r (so every output element counts with
 * a different weight), takes L = Σ r ⊙ f(x), and compares dL/dx from {@link Tensor#backward} with central
 * differences (L(x + h e_i) - L(x - h e_i)) / 2h evaluated in double precision from float32 outputs.
 */
public final class GradCheck {
    private GradCheck() {
    }

    /**
     * Checks the gradient of {@code f} with respect to every input; fails with the worst element otherwise.
     *
     * @param f      the function; must be deterministic
     * @param h      finite-difference step (1e-2 suits float32 functions of O(1) inputs)
     * @param tol    allowed |analytic - numeric| / max(1, |numeric|)
     * @param inputs leaves; their values are perturbed in place and restored
     */
    public static void check(Function<Tensor[], Tensor> f, double h, double tol, Tensor... inputs) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) leaves[i] = Tensor.of(inputs[i].toFloatArray(), inputs[i].shape());
        Tensor probe;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            probe = Tensor.randn(new Rng(1234), f.apply(leaves).shape());
        }
        for (Tensor t : leaves) t.setRequiresGrad(true);
        Tensor loss = f.apply(leaves).mul(probe).sum();
        loss.backward();
        for (int i = 0; i < leaves.length; i++) {
            Tensor leaf = leaves[i];
            float[] analytic = leaf.grad() == null ? new float[leaf.numel()] : leaf.grad().toFloatArray();
            float[] data = ((FloatStorage) leaf.storage()).array();
            for (int j = 0; j < data.length; j++) {
                float saved = data[j];
                data[j] = (float) (saved + h);
                double up = project(f, leaves, probe);
                data[j] = (float) (saved - h);
                double down = project(f, leaves, probe);
                data[j] = saved;
                double numeric = (up - down) / (2 * h);
                double err = Math.abs(analytic[j] - numeric) / Math.max(1, Math.abs(numeric));
                if (!(err <= tol)) {
                    fail("gradient of input " + i + " " + Shapes.format(leaf.shape()) + " at flat index " + j
                            + ": autodiff " + analytic[j] + " vs finite difference " + numeric);
                }
            }
        }
    }

    /** {@link #check} with h = 1e-2 and tolerance 1e-2. */
    public static void check(Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(f, 1e-2, 1e-2, inputs);
    }

    private static double project(Function<Tensor[], Tensor> f, Tensor[] leaves, Tensor probe) {
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            float[] y = f.apply(leaves).toFloatArray(), r = probe.toFloatArray();
            double s = 0;
            for (int k = 0; k < y.length; k++) s += (double) y[k] * r[k];
            return s;
        }
    }
}
