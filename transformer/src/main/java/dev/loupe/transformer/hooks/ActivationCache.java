package dev.loupe.transformer.hooks;

import dev.loupe.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Activations (and, when asked for, their gradients) of one call, by hook-point name, in forward order. Activations
 * are detached: reading them records nothing. Each keeps the shape its point documents, batch dim included.
 * Filled by the call that owns it (the forward pass, then a backward pass); read it from one thread, after the call.
 */
public final class ActivationCache {
    private final Map<String, Tensor> activations = new LinkedHashMap<>();
    private final Map<String, Tensor> gradients = new LinkedHashMap<>();

    /** An empty cache, to fill by hand (e.g. from a file) with {@link #put}. */
    public ActivationCache() {
    }

    /** Stores {@code activation} under {@code name}, replacing any earlier entry. */
    public void put(String name, Tensor activation) {
        activations.put(name, activation);
    }

    /** Stores the gradient at {@code name}, replacing any earlier one (a second backward pass overwrites). */
    public void putGrad(String name, Tensor gradient) {
        gradients.put(name, gradient.detach());
    }

    /**
     * The activation cached at {@code name}.
     *
     * @throws IllegalArgumentException naming the point and a close cached name when it was not cached
     */
    public Tensor get(String name) {
        Tensor t = activations.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no activation cached at '" + name + "'"
                    + HookNames.suggest(name, activations.keySet()));
        }
        return t;
    }

    /** The activation at {@code HookNames.act(shortName, layer)}, e.g. {@code get("resid_pre", 3)}. */
    public Tensor get(String shortName, int layer) {
        return get(HookNames.act(shortName, layer));
    }

    /**
     * The gradient cached at {@code name}, shaped like its activation.
     *
     * @throws IllegalArgumentException when none was cached (no gradient caching asked for, no backward pass yet, or
     *                                  the differentiated scalar does not depend on the point)
     */
    public Tensor grad(String name) {
        Tensor g = gradients.get(name);
        if (g == null) {
            throw new IllegalArgumentException("no gradient cached at '" + name + "' (ask for Hooks.Builder"
                    + ".cacheGradients() and run backward from a scalar that depends on it)");
        }
        return g;
    }

    public boolean has(String name) {
        return activations.containsKey(name);
    }

    public boolean hasGrad(String name) {
        return gradients.containsKey(name);
    }

    /** Cached activation names, in forward order (unmodifiable). */
    public Set<String> names() {
        return Collections.unmodifiableSet(activations.keySet());
    }

    /** Names with a cached gradient, in the order the backward pass reached them (unmodifiable). */
    public Set<String> gradNames() {
        return Collections.unmodifiableSet(gradients.keySet());
    }

    public int size() {
        return activations.size();
    }

    @Override
    public String toString() {
        return "ActivationCache[" + activations.size() + " activations, " + gradients.size() + " gradients]";
    }
}
