package dev.loupe.transformer.train;

import dev.loupe.tensor.SgdUpdate;
import dev.loupe.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Stochastic gradient descent with optional momentum (Nesterov or classical) and L2 weight decay, step for step as
 * {@code torch.optim.SGD} with no dampening: for each parameter p with gradient g,
 * <pre>
 *   d ← g + wd · p
 *   b ← d on the first step, else μ · b + d        (when μ &gt; 0)
 *   d ← d + μ · b (Nesterov) or b (classical)      (when μ &gt; 0)
 *   p ← p − lr · d
 * </pre>
 * The momentum buffer b is a float32 tensor per parameter on its device; the update is one fused primitive per
 * parameter ({@code Backend.sgd}), the same float32 operations on every device. Not thread-safe.
 */
public final class SGD implements Optimizer {
    private final List<State> states = new ArrayList<>();
    private final double momentum;
    private final boolean nesterov;
    private double lr;

    /** Per-parameter state: the momentum buffer [n] in storage order on the parameter's device (null until used). */
    private static final class State {
        final Tensor param;
        final int[] order;
        final float weightDecay;
        Tensor buffer;

        State(Tensor param, int[] order, float weightDecay) {
            this.param = param;
            this.order = order;
            this.weightDecay = weightDecay;
        }
    }

    /**
     * @throws IllegalArgumentException for lr &lt; 0, momentum outside [0, 1), Nesterov without momentum, or a
     *                                  parameter that is not a dense float32 leaf (on the heap or a device)
     */
    public SGD(List<ParamGroup> groups, double lr, double momentum, boolean nesterov) {
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1) but was " + momentum);
        }
        if (nesterov && momentum == 0) throw new IllegalArgumentException("Nesterov momentum needs momentum > 0");
        setLr(lr);
        this.momentum = momentum;
        this.nesterov = nesterov;
        for (int gi = 0; gi < groups.size(); gi++) {
            List<Tensor> ps = groups.get(gi).params();
            for (int i = 0; i < ps.size(); i++) {
                Tensor p = ps.get(i);
                for (State s : states) {
                    if (s.param == p) throw new IllegalArgumentException("parameter " + i + " of group " + gi
                            + " appears twice");
                }
                states.add(new State(p, Params.check(p, gi, i), (float) groups.get(gi).weightDecay()));
            }
        }
    }

    /** Sets the learning rate for the following steps. */
    public void setLr(double lr) {
        if (!(lr >= 0)) throw new IllegalArgumentException("lr must be >= 0 but was " + lr);
        this.lr = lr;
    }

    @Override
    public void step() {
        for (State s : states) {
            Tensor grad = s.param.grad();
            if (grad == null) continue;
            boolean first = momentum > 0 && s.buffer == null;
            if (first) s.buffer = Tensor.zeros(s.param.device(), s.param.numel());
            s.param.backend().sgd(Params.flat(s.param, s.order), Params.flatGrad(s.param, grad, s.order), s.buffer,
                    new SgdUpdate((float) lr, s.weightDecay, (float) momentum, nesterov, first));
        }
    }

    @Override
    public void zeroGrad() {
        for (State s : states) s.param.zeroGrad();
    }
}
