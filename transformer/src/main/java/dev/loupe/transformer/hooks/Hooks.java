package dev.loupe.transformer.hooks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * What one model call should do at its hook points: which activations (and gradients) to cache, and which forward and
 * backward hooks to run. A {@code Hooks} is an immutable description; a model call {@linkplain #open opens} it into a
 * fresh {@link HookRun} that lives only as long as that call's tensors, so nothing is registered on the model and
 * nothing is left behind when a call returns or throws. The same {@code Hooks} may be passed to any number of calls,
 * from any thread.
 *
 * <p>Hooks on one point run in the order they were added; each sees the previous one's output. Points are selected by
 * exact name or by predicate; an exact name the model does not have is an error when the call starts, so a typo
 * fails loudly instead of silently hooking nothing.
 *
 * <p>Optional points (the per-head {@code attn.hook_result} and the per-head {@code hook_q_input},
 * {@code hook_k_input}, {@code hook_v_input}, which cost a [batch, pos, head, d_model] tensor each, and
 * {@code hook_mlp_in}, a copy of {@code hook_resid_mid}) are computed only when a hook or an explicit cache filter
 * selects them; {@link Builder#cacheAll()} does not.
 */
public final class Hooks {
    private static final Hooks NONE = new Builder().build();

    record Selector(String exact, Predicate<String> predicate) {
        boolean matches(String name) {
            return exact != null ? exact.equals(name) : predicate.test(name);
        }
    }

    record Forward(Selector where, ForwardHook hook) {
    }

    record Backward(Selector where, BackwardHook hook) {
    }

    private final Selector cache;          // null: cache nothing
    private final boolean cacheForcesOptional;
    private final boolean cacheGradients;
    private final List<Forward> forward;
    private final List<Backward> backward;

    private Hooks(Builder b) {
        this.cache = b.cache;
        this.cacheForcesOptional = b.cacheForcesOptional;
        this.cacheGradients = b.cacheGradients;
        this.forward = List.copyOf(b.forward);
        this.backward = List.copyOf(b.backward);
    }

    /** No hooks, no cache: a plain forward pass. */
    public static Hooks none() {
        return NONE;
    }

    /** Caches every (non-optional) activation and nothing else. */
    public static Hooks cacheAll() {
        return builder().cacheAll().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts one call's hook run. {@code points} lists every hook point the model has (for checking exact names);
     * called by models, once per call.
     *
     * @throws IllegalArgumentException if a hook names a point not in {@code points}
     */
    public HookRun open(Collection<String> points) {
        for (Forward f : forward) check(f.where, points);
        for (Backward b : backward) check(b.where, points);
        return new HookRun(this);
    }

    private static void check(Selector s, Collection<String> points) {
        if (s.exact != null && !points.contains(s.exact)) {
            throw new IllegalArgumentException("no hook point named '" + s.exact + "'" + HookNames.suggest(s.exact, points));
        }
    }

    boolean caches(String name) {
        return cache != null && cache.matches(name);
    }

    boolean cachesGradients() {
        return cacheGradients;
    }

    boolean selectsOptional(String name) {
        return (cacheForcesOptional && caches(name)) || hookedExplicitly(name);
    }

    /** A forward or backward hook (not the cache) selects {@code name}. */
    boolean hookedExplicitly(String name) {
        for (Forward f : forward) if (f.where.matches(name)) return true;
        for (Backward b : backward) if (b.where.matches(name)) return true;
        return false;
    }

    boolean needsGradients() {
        return (cacheGradients && cache != null) || !backward.isEmpty();
    }

    List<Forward> forward() {
        return forward;
    }

    List<Backward> backward() {
        return backward;
    }

    /** Builds a {@link Hooks}. Not thread-safe; the built object is. */
    public static final class Builder {
        private Selector cache;
        private boolean cacheForcesOptional;
        private boolean cacheGradients;
        private final List<Forward> forward = new ArrayList<>();
        private final List<Backward> backward = new ArrayList<>();

        private Builder() {
        }

        /** Caches every activation the call computes (optional points only when a hook asks for them). */
        public Builder cacheAll() {
            cache = new Selector(null, n -> true);
            cacheForcesOptional = false;
            return this;
        }

        /** Caches the points whose names {@code filter} accepts; optional points it accepts are computed. */
        public Builder cache(Predicate<String> filter) {
            cache = new Selector(null, Objects.requireNonNull(filter, "filter"));
            cacheForcesOptional = true;
            return this;
        }

        /** Caches the points whose whole name matches {@code regex}, e.g. {@code "blocks\\.\\d+\\.attn\\.hook_pattern"}. */
        public Builder cache(String regex) {
            Pattern p = Pattern.compile(regex);
            return cache(n -> p.matcher(n).matches());
        }

        /**
         * Also caches, at every cached point, the gradient that a backward pass from any scalar computed from this
         * call's outputs brings there ({@link ActivationCache#grad}). Makes the call record a graph even when no
         * parameter requires a gradient.
         */
        public Builder cacheGradients() {
            cacheGradients = true;
            return this;
        }

        /** Runs {@code hook} at the point named {@code name}. */
        public Builder forward(String name, ForwardHook hook) {
            forward.add(new Forward(new Selector(Objects.requireNonNull(name, "name"), null),
                    Objects.requireNonNull(hook, "hook")));
            return this;
        }

        /** Runs {@code hook} at every point whose name {@code names} accepts. */
        public Builder forward(Predicate<String> names, ForwardHook hook) {
            forward.add(new Forward(new Selector(null, Objects.requireNonNull(names, "names")),
                    Objects.requireNonNull(hook, "hook")));
            return this;
        }

        /** Runs {@code hook} on the gradient at the point named {@code name}. */
        public Builder backward(String name, BackwardHook hook) {
            backward.add(new Backward(new Selector(Objects.requireNonNull(name, "name"), null),
                    Objects.requireNonNull(hook, "hook")));
            return this;
        }

        /** Runs {@code hook} on the gradient at every point whose name {@code names} accepts. */
        public Builder backward(Predicate<String> names, BackwardHook hook) {
            backward.add(new Backward(new Selector(null, Objects.requireNonNull(names, "names")),
                    Objects.requireNonNull(hook, "hook")));
            return this;
        }

        public Hooks build() {
            return new Hooks(this);
        }
    }
}
