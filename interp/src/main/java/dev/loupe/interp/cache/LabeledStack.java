package dev.loupe.interp.cache;

import dev.loupe.tensor.Tensor;
import java.util.List;

/**
 * Residual-stream components stacked along a leading axis, each with a label a reader can search for
 * ({@code "embed"}, {@code "3_attn_out"}, {@code "L5H1"}, {@code "L2N17"}, {@code "4_pre"}, {@code "final_post"}).
 *
 * @param stack  [component, batch, pos, d_model]
 * @param labels one per component, in stack order
 */
public record LabeledStack(Tensor stack, List<String> labels) {
    public LabeledStack {
        labels = List.copyOf(labels);
        if (stack.rank() < 1 || stack.size(0) != labels.size()) {
            throw new IllegalArgumentException(labels.size() + " labels for a stack of shape "
                    + java.util.Arrays.toString(stack.shape()));
        }
    }

    /** Number of components. */
    public int size() {
        return labels.size();
    }

    /** The component labelled {@code label}: [batch, pos, d_model]. */
    public Tensor component(String label) {
        int i = labels.indexOf(label);
        if (i < 0) throw new IllegalArgumentException("no component '" + label + "' (have " + labels + ")");
        return stack.select(0, i);
    }

    /** The same labels over a new stack (e.g. after a LayerNorm was applied); {@code stack} [component, ...]. */
    public LabeledStack withStack(Tensor stack) {
        return new LabeledStack(stack, labels);
    }
}
