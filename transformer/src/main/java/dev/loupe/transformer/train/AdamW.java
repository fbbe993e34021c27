package dev.loupe.transformer.train;

import dev.loupe.tensor.AdamWUpdate;
import dev.loupe.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), step for step as {@code torch.optim.AdamW}: for each
 * parameter p with gradient g at step t (counted per parameter, from 1),
 * <pre>
 *   p ← p · (1 − lr · wd)
 *   m ← β1 · m + (1 − β1) · g          v ← β2 · v + (1 − β2) · g²
 *   p ← p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
 * </pre>
 * with ε outside the square root and wd taken from the parameter's {@link ParamGroup}. The moments are float32
 * tensors the size of each parameter on its device (created on its first step), so the optimizer holds twice the
 * model's size there. The update is one fused primitive per parameter ({@code Backend.adamW}: SIMD over the cores on
 * the CPU, one kernel on a GPU), and every device computes the same float32 operations ({@link AdamWUpdate}).
 *
 * <p>Not thread-safe.
 */
public final class AdamW implements Optimizer {
    private final List<ParamGroup> groups;
    private final List<State> states = new ArrayList<>();
    private final double beta1, beta2, eps;
    private double lr;

    /** Per-parameter state: moments [n] in storage order on the parameter's device, and the step count. */
    private static final class State {
        final Tensor param;
        final int[] order;
        final float weightDecay;
        Tensor m, v;
        int steps;

        State(Tensor param, int[] order, float weightDecay) {
            this.param = param;
            this.order = order;
            this.weightDecay = weightDecay;
        }
    }

    /** AdamW with PyTorch's default betas (0.9, 0.999) and ε = 1e-8. */
    public AdamW(List<ParamGroup> groups, double lr) {
        this(groups, lr, 0.9, 0.999, 1e-8);
    }

    /**
     * @param groups parameters with their weight decay (see {@link ParamGroup#split}); a parameter must not appear
     *               twice
     * @throws IllegalArgumentException for lr &lt; 0, a beta outside [0, 1), ε &lt; 0, or a parameter that is not a
     *                                  dense float32 leaf (on the heap or a device)
     */
    public AdamW(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps) {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1) but was " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1) but was " + beta2);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps must be >= 0 but was " + eps);
        setLr(lr);
        this.groups = List.copyOf(groups);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        for (int gi = 0; gi < this.groups.size(); gi++) {
            List<Tensor> ps = this.groups.get(gi).params();
            for (int i = 0; i < ps.size(); i++) {
                Tensor p = ps.get(i);
                for (State s : states) {
                    if (s.param == p) throw new IllegalArgumentException("parameter " + i + " of group " + gi
                            + " appears twice");
                }
                states.add(new State(p, Params.check(p, gi, i), (float) this.groups.get(gi).weightDecay()));
            }
        }
    }

    /** The learning rate of the next step. */
    public double lr() {
        return lr;
    }

    /** Sets the learning rate for the following steps (for schedules). */
    public void setLr(double lr) {
        if (!(lr >= 0)) throw new IllegalArgumentException("lr must be >= 0 but was " + lr);
        this.lr = lr;
    }

    /** The parameter groups, as given. */
    public List<ParamGroup> groups() {
        return groups;
    }

    @Override
    public void step() {
        for (State s : states) {
            Tensor grad = s.param.grad();
            if (grad == null) continue;
            int n = s.param.numel();
            if (s.m == null) {
                s.m = Tensor.zeros(s.param.device(), n);
                s.v = Tensor.zeros(s.param.device(), n);
            }
            s.steps++;
            AdamWUpdate u = AdamWUpdate.of(lr, beta1, beta2, eps, s.weightDecay, s.steps);
            s.param.backend().adamW(Params.flat(s.param, s.order), Params.flatGrad(s.param, grad, s.order),
                    s.m, s.v, u);
        }
    }

    /**
     * One parameter's optimizer state, for checkpoints: its step count and first and second moments in the
     * parameter's storage order (null before its first step).
     */
    public record ParamState(int steps, float[] m, float[] v) {
    }

    /** The state of every parameter, in the order of {@link #groups()} and their parameters (copies). */
    public List<ParamState> state() {
        List<ParamState> out = new ArrayList<>();
        for (State s : states) {
            out.add(new ParamState(s.steps, s.m == null ? null : s.m.toFloatArray(),
                    s.v == null ? null : s.v.toFloatArray()));
        }
        return out;
    }

    /**
     * Restores a state saved by {@link #state()} from an optimizer over parameters of the same shapes, in the same
     * order, so that training resumes where it stopped.
     *
     * @throws IllegalArgumentException for a different number of parameters or moments of the wrong size
     */
    public void loadState(List<ParamState> saved) {
        if (saved.size() != states.size()) {
            throw new IllegalArgumentException("state for " + saved.size() + " parameters but the optimizer has "
                    + states.size());
        }
        for (int i = 0; i < saved.size(); i++) {
            ParamState p = saved.get(i);
            State s = states.get(i);
            int n = s.param.numel();
            if ((p.m() == null) != (p.v() == null) || (p.m() != null && (p.m().length != n || p.v().length != n))) {
                throw new IllegalArgumentException("state of parameter " + i + " does not match its " + n
                        + " elements");
            }
            s.steps = p.steps();
            s.m = p.m() == null ? null : Tensor.of(p.m().clone(), n).to(s.param.device());
            s.v = p.v() == null ? null : Tensor.of(p.v().clone(), n).to(s.param.device());
        }
    }

    @Override
    public void zeroGrad() {
        for (State s : states) s.param.zeroGrad();
    }
}
