package dev.loupe.interp.ablation;

import dev.loupe.tensor.Tensor;
import java.util.List;

/**
 * How an ablation replaces its target's values. Sealed: zero, mean over a reference set, resample from a reference
 * set, soft (scale by α), or explicit values.
 *
 * <p>References (for {@link Mean} and {@link Resample}) are prompts run through the same model to read the target
 * point. Prompts of different lengths are aligned from their first token: the mean at position p is taken over the
 * references that reach p, and a target position that no reference reaches is an error (so nothing is averaged
 * over padding). {@link Resample} draws, per batch row, one reference long enough for the positions ablated, with
 * a seeded generator.
 */
public sealed interface Ablation {
    /** Replace with 0. */
    record Zero() implements Ablation {
    }

    /** Replace with the mean of the reference prompts' activations, position by position. */
    record Mean(List<int[]> references) implements Ablation {
        public Mean {
            references = List.copyOf(references);
            if (references.isEmpty()) throw new IllegalArgumentException("mean ablation needs reference prompts");
        }
    }

    /** Replace with one reference prompt's activation, drawn per batch row with {@code seed}. */
    record Resample(List<int[]> references, long seed) implements Ablation {
        public Resample {
            references = List.copyOf(references);
            if (references.isEmpty()) throw new IllegalArgumentException("resample ablation needs reference prompts");
        }
    }

    /** Multiply by {@code alpha} (−1 flips the component; 0 is zero ablation). */
    record Scale(float alpha) implements Ablation {
    }

    /**
     * Replace with {@code values}, broadcast to the point's shape (e.g. [d_head] for a head, [n] for n neurons, or the
     * whole activation).
     */
    record Values(Tensor values) implements Ablation {
    }

    /** One edit: a target and how to replace it. */
    record Spec(Target target, Ablation ablation) {
    }

    static Spec zero(Target t) {
        return new Spec(t, new Zero());
    }

    static Spec mean(Target t, List<int[]> references) {
        return new Spec(t, new Mean(references));
    }

    static Spec resample(Target t, List<int[]> references, long seed) {
        return new Spec(t, new Resample(references, seed));
    }

    static Spec scale(Target t, float alpha) {
        return new Spec(t, new Scale(alpha));
    }

    static Spec values(Target t, Tensor values) {
        return new Spec(t, new Values(values));
    }
}
