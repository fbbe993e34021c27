package dev.loupe.transformer.hooks;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * One call's view of its {@link Hooks}: models pass every activation through {@link #point}, in forward order. Owned
 * by the call that opened it and used from that call's thread only; it holds no reference the model keeps, so it is
 * dropped with the call.
 */
public final class HookRun {
    private final Hooks hooks;
    private final ActivationCache cache = new ActivationCache();

    HookRun(Hooks hooks) {
        this.hooks = hooks;
    }

    /**
     * The activation at point {@code name}: runs the forward hooks that select it (each sees the previous one's
     * output), caches the result when asked, and arranges for the backward hooks and gradient caching of the point.
     * Returns the tensor the forward pass must continue with.
     *
     * @param x the activation, any shape (the point's own)
     * @throws IllegalStateException if a hook returns null or a tensor of another shape
     */
    public Tensor point(String name, Tensor x) {
        for (Hooks.Forward f : hooks.forward()) {
            if (!f.where().matches(name)) continue;
            Tensor y = f.hook().apply(x, name);
            if (y == null) throw new IllegalStateException("forward hook at " + name + " returned null");
            if (!Arrays.equals(y.shape(), x.shape())) {
                throw new IllegalStateException("forward hook at " + name + " returned shape "
                        + Arrays.toString(y.shape()) + " but the point is " + Arrays.toString(x.shape()));
            }
            x = y;
        }
        boolean cached = hooks.caches(name);
        if (hooks.needsGradients()) x = attachBackward(name, x, cached && hooks.cachesGradients());
        if (cached) cache.put(name, x.detach());
        return x;
    }

    private Tensor attachBackward(String name, Tensor x, boolean cacheGrad) {
        List<Hooks.Backward> mine = hooks.backward().stream().filter(b -> b.where().matches(name)).toList();
        // A fresh tensor per point, so the gradient hook dies with this call's graph: hooking a tensor that outlives
        // the call (a cached activation a forward hook returned) would leave the hook registered on it.
        boolean hooked = !mine.isEmpty() || cacheGrad;
        if (!x.requiresGrad()) x = x.detach().setRequiresGrad(true); // seeds the graph when no weight requires grad
        else if (hooked) x = x.permute(identity(x.rank())); // a recorded no-op view, any strides
        if (!hooked) return x;
        x.onGrad(g -> {
            Tensor cur = g;
            for (Hooks.Backward b : mine) {
                Tensor r = b.hook().apply(cur, name);
                if (r == null) continue;
                if (!Arrays.equals(r.shape(), cur.shape())) {
                    throw new IllegalStateException("backward hook at " + name + " returned shape "
                            + Arrays.toString(r.shape()) + " but the gradient is " + Arrays.toString(cur.shape()));
                }
                cur = r;
            }
            if (cacheGrad) cache.putGrad(name, cur);
            return cur == g ? null : cur;
        });
        return x;
    }

    /**
     * TransformerLens's LayerNorm over the last dim as hook points {@code <prefix>.hook_scale} (√(var + ε), the last
     * dim kept as 1) and {@code <prefix>.hook_normalized} (after the affine map, when {@code weight}/{@code bias} are
     * given). Uses the fused kernel unless a hook (or gradient caching) needs the scale as a step of the computation;
     * a scale that is only cached is computed beside it, so caching never changes a run's numbers.
     *
     * @param x      [..., d]
     * @param weight [d] or null
     * @param bias   [d] or null
     * @return [..., d]
     */
    public Tensor layerNorm(String prefix, Tensor x, Tensor weight, Tensor bias, float eps) {
        String scaleName = prefix + ".hook_scale", normName = prefix + ".hook_normalized";
        Tensor y;
        if (hooked(scaleName)) {
            Tensor centered = x.sub(x.mean(-1, true));
            Tensor scale = point(scaleName, centered.square().mean(-1, true).add(eps).sqrt());
            y = centered.div(scale);
            if (weight != null) y = y.mul(weight);
            if (bias != null) y = y.add(bias);
        } else {
            y = x.layerNorm(weight, bias, eps);
            if (caches(scaleName)) {
                try (var off = Autograd.noGrad()) {
                    point(scaleName, x.detach().var(-1, true, 0).add(eps).sqrt());
                }
            }
        }
        return point(normName, y);
    }

    private static int[] identity(int rank) {
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) dims[i] = i;
        return dims;
    }

    /**
     * True when a forward or backward hook selects {@code name}, or its gradient is cached: the point must then be
     * a real step of the computation. A model may compute a point nobody hooks in a cheaper fused form (a fused
     * LayerNorm rather than one that exposes {@code hook_scale}) and cache it on the side, so that caching never
     * changes the numbers a run produces.
     */
    public boolean hooked(String name) {
        return hooks.hookedExplicitly(name) || (hooks.cachesGradients() && hooks.caches(name));
    }

    /**
     * True when the point {@code name} must exist as a tensor of its own: a forward or backward hook selects it, or it
     * is cached (its activation, or its gradient too). When false a model may fold the point into a fused op
     * (attention without its scores and pattern, a linear map with its activation) and skip it. Recording a graph
     * alone does not materialize a point: the fused ops are differentiable, so a backward hook or gradient cache on
     * {@code hook_z} gets its gradient without the pattern, while one on {@code hook_pattern} makes the pattern real.
     */
    public boolean materializes(String name) {
        return hooked(name) || caches(name);
    }

    /** True when {@code name} is cached in this call. */
    public boolean caches(String name) {
        return hooks.caches(name);
    }

    /** True when an optional point ({@code hook_result}, {@code hook_q_input} ...) should be computed. */
    public boolean wants(String optionalName) {
        return hooks.selectsOptional(optionalName);
    }

    /** True when the call must record a graph so that backward hooks and gradient caching can run. */
    public boolean needsGradients() {
        return hooks.needsGradients();
    }

    /** This call's cache: filled during the forward pass, and with gradients during a later backward pass. */
    public ActivationCache cache() {
        return cache;
    }
}
