package dev.loupe.interp.ablation;

import dev.loupe.transformer.hooks.HookNames;
import java.util.Arrays;

/**
 * What an ablation edits: a slice of one hook point's activation, at all positions or at chosen ones.
 * Positions index the sequence axis ({@code pos}, or {@code query_pos} for patterns); null means every position.
 */
public sealed interface Target {
    /** The hook point holding the target. */
    String point();

    /** Positions edited, or null for all. */
    int[] positions();

    /** One attention head's output: {@code attn.hook_z[:, pos, head, :]}. */
    record Head(int layer, int head, int[] positions) implements Target {
        public String point() {
            return HookNames.attn(layer, "hook_z");
        }
    }

    /**
     * One head's slice of a per-head point shaped [batch, pos, head, d_head]: {@code attn.hook_q}, {@code hook_k},
     * {@code hook_v} or {@code hook_z} (give the full point name).
     */
    record HeadSlice(String point, int head, int[] positions) implements Target {
    }

    /** One head's attention pattern rows: {@code attn.hook_pattern[:, head, query_pos, :]}. */
    record Pattern(int layer, int head, int[] positions) implements Target {
        public String point() {
            return HookNames.attn(layer, "hook_pattern");
        }
    }

    /** MLP neurons (a group, or one): {@code mlp.hook_post[:, pos, neurons]}. */
    record Neurons(int layer, int[] neurons, int[] positions) implements Target {
        public Neurons {
            if (neurons.length == 0) throw new IllegalArgumentException("no neurons given");
            neurons = neurons.clone();
        }

        public String point() {
            return HookNames.mlp(layer, "hook_post");
        }
    }

    /**
     * A whole [batch, pos, d_model] point: a residual stream ({@code hook_resid_pre} ...) or a layer's output
     * ({@code hook_attn_out}, {@code hook_mlp_out}).
     */
    record Stream(String point, int[] positions) implements Target {
    }

    static String describe(Target t) {
        return t + (t.positions() == null ? "" : " at " + Arrays.toString(t.positions()));
    }
}
