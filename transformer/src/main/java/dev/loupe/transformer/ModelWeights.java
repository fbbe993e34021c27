package dev.loupe.transformer;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Tensor;
import java.util.Arrays;

/**
 * What the GPT-2 and BERT weight records share: moving a parameter to a device, and TransformerLens's per-head views of
 * the fused projections. Both families store matrices [in, out] (x @ W), with Q, K and V side by side in one
 * [d_model, 3·d_model] matrix whose columns run (q|k|v, head, d_head), and W_O [d_model (= head·d_head), d_model].
 *
 * <p>The per-head tensors are views, never copies, so a gradient or an edit through either reaches the same numbers.
 * A matrix may be row-major or a transposed view of a row-major one (GPT-Neo's and BERT's files store [out, in]).
 */
public final class ModelWeights {
    private ModelWeights() {
    }

    /**
     * A parameter on {@code device}: a new leaf (not a recorded copy) of {@code t}'s shape, whatever it is, requiring
     * a gradient when {@code t} did; null stays null.
     */
    public static Tensor move(Tensor t, Device device) {
        return t == null ? null : t.detach().to(device).setRequiresGrad(t.requiresGrad());
    }

    /**
     * W_Q, W_K or W_V ({@code which} 0, 1, 2) of a fused W_QKV [d_model, 3·d_model]: [head, d_model, d_head], a view.
     *
     * @throws IllegalArgumentException when {@code which} is not 0, 1 or 2
     * @throws IllegalStateException    when W_QKV is neither row- nor column-major
     */
    public static Tensor qkvPerHead(Tensor wQkv, int heads, int which) {
        checkWhich(which);
        int d = wQkv.size(0);
        return splitRows(wQkv.transpose(0, 1), 3, heads, d / heads).select(0, which).permute(0, 2, 1);
    }

    /**
     * b_Q, b_K or b_V ({@code which} 0, 1, 2) of a fused b_QKV [3·d_model]: [head, d_head], a view.
     *
     * @throws IllegalArgumentException when {@code which} is not 0, 1 or 2
     */
    public static Tensor qkvBiasPerHead(Tensor bQkv, int heads, int which) {
        checkWhich(which);
        int d = bQkv.size(0) / 3;
        return bQkv.view(3, heads, d / heads).select(0, which);
    }

    /**
     * W_O [d_model (= head·d_head), d_model] as [head, d_head, d_model], a view.
     *
     * @throws IllegalStateException when W_O is neither row- nor column-major
     */
    public static Tensor outPerHead(Tensor wO, int heads) {
        return splitRows(wO, heads, wO.size(0) / heads);
    }

    private static void checkWhich(int which) {
        if (which < 0 || which > 2) {
            throw new IllegalArgumentException("which must be 0 (q), 1 (k) or 2 (v), got " + which);
        }
    }

    /**
     * A matrix [r, c] as a view [parts..., c] with r split into {@code parts}. A transposed view of a row-major matrix
     * (strides [1, r]) is one {@code view} refuses; its transpose is contiguous, so it is split through that instead
     * of being copied.
     */
    private static Tensor splitRows(Tensor w, int... parts) {
        int c = w.size(1);
        int[] shape = Arrays.copyOf(parts, parts.length + 1);
        shape[parts.length] = c;
        if (w.isContiguous()) return w.view(shape);
        Tensor t = w.transpose(0, 1);
        if (!t.isContiguous()) {
            throw new IllegalStateException("weight matrix with strides " + Arrays.toString(w.strides())
                    + " is neither row- nor column-major; per-head views need one of the two");
        }
        int[] tShape = new int[parts.length + 1], order = new int[parts.length + 1];
        tShape[0] = c;
        System.arraycopy(parts, 0, tShape, 1, parts.length);
        for (int i = 0; i < parts.length; i++) order[i] = i + 1;
        order[parts.length] = 0;
        return t.view(tShape).permute(order); // [c, parts...] → [parts..., c]
    }
}
