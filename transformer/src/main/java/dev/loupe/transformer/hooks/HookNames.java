package dev.loupe.transformer.hooks;

import java.util.Collection;
import java.util.Map;

/**
 * TransformerLens hook-point names. Shapes, as every model documents them:
 * <pre>
 * hook_embed, hook_pos_embed                            [batch, pos, d_model]
 * blocks.L.hook_resid_pre | hook_resid_mid | hook_resid_post   [batch, pos, d_model]
 * blocks.L.ln1.hook_scale, ln2.hook_scale, ln_final.hook_scale [batch, pos, 1]
 * blocks.L.ln1.hook_normalized, ...                     [batch, pos, d_model]
 * blocks.L.attn.hook_q | hook_k | hook_v | hook_z       [batch, pos, head, d_head]
 * blocks.L.attn.hook_attn_scores | hook_pattern         [batch, head, query_pos, key_pos]
 * blocks.L.attn.hook_result (optional)                  [batch, pos, head, d_model]
 * blocks.L.hook_q_input | hook_k_input | hook_v_input (optional) [batch, pos, head, d_model]
 * blocks.L.hook_mlp_in (optional)                      [batch, pos, d_model]
 * blocks.L.hook_attn_out, blocks.L.hook_mlp_out         [batch, pos, d_model]
 * blocks.L.mlp.hook_pre | hook_post                     [batch, pos, d_mlp]
 * </pre>
 * The per-head inputs are the residual stream entering LayerNorm 1, one copy per head; {@code hook_mlp_in} is the
 * residual stream entering LayerNorm 2 (equal to {@code hook_resid_mid}, TransformerLens's {@code use_hook_mlp_in}).
 * A hook on one of them changes only that head's query, key or value, or only that block's MLP, so they are the
 * receivers of path patching. Optional points are computed only when a hook or an explicit cache filter selects them.
 */
public final class HookNames {
    private HookNames() {
    }

    public static final String EMBED = "hook_embed";
    public static final String POS_EMBED = "hook_pos_embed";
    public static final String LN_FINAL_SCALE = "ln_final.hook_scale";
    public static final String LN_FINAL_NORMALIZED = "ln_final.hook_normalized";

    private static final Map<String, String> SHORT = Map.ofEntries(
            Map.entry("resid_pre", "hook_resid_pre"), Map.entry("resid_mid", "hook_resid_mid"),
            Map.entry("resid_post", "hook_resid_post"), Map.entry("attn_out", "hook_attn_out"),
            Map.entry("mlp_out", "hook_mlp_out"), Map.entry("mlp_in", "hook_mlp_in"), Map.entry("q_input", "hook_q_input"),
            Map.entry("k_input", "hook_k_input"), Map.entry("v_input", "hook_v_input"),
            Map.entry("q", "attn.hook_q"), Map.entry("k", "attn.hook_k"), Map.entry("v", "attn.hook_v"),
            Map.entry("z", "attn.hook_z"), Map.entry("result", "attn.hook_result"),
            Map.entry("attn_scores", "attn.hook_attn_scores"), Map.entry("scores", "attn.hook_attn_scores"),
            Map.entry("pattern", "attn.hook_pattern"), Map.entry("attn", "attn.hook_pattern"),
            Map.entry("pre", "mlp.hook_pre"), Map.entry("post", "mlp.hook_post"),
            Map.entry("scale1", "ln1.hook_scale"), Map.entry("normalized1", "ln1.hook_normalized"),
            Map.entry("scale2", "ln2.hook_scale"), Map.entry("normalized2", "ln2.hook_normalized"));

    /** {@code blocks.L.<point>}, e.g. {@code block(3, "attn.hook_z")}. */
    public static String block(int layer, String point) {
        if (layer < 0) throw new IllegalArgumentException("layer must be >= 0, got " + layer);
        return "blocks." + layer + "." + point;
    }

    /**
     * TransformerLens's {@code get_act_name}: a short name and a layer to the full point name, e.g.
     * {@code ("z", 3)} → {@code blocks.3.attn.hook_z}, {@code ("resid_pre", 0)} → {@code blocks.0.hook_resid_pre}.
     * Short names: resid_pre, resid_mid, resid_post, attn_out, mlp_out, q, k, v, z, result, attn_scores (scores),
     * pattern (attn), pre, post, q_input, k_input, v_input, mlp_in, scale1, normalized1, scale2, normalized2. A name that is
     * already a full point name is returned as it is.
     */
    public static String act(String shortName, int layer) {
        String point = SHORT.get(shortName);
        if (point != null) return block(layer, point);
        if (shortName.startsWith("blocks.") || shortName.startsWith("hook_") || shortName.startsWith("ln_final.")) {
            return shortName;
        }
        throw new IllegalArgumentException("unknown short hook name '" + shortName + "' (known: "
                + String.join(", ", new java.util.TreeSet<>(SHORT.keySet())) + ")");
    }

    public static String residPre(int layer) {
        return block(layer, "hook_resid_pre");
    }

    public static String residMid(int layer) {
        return block(layer, "hook_resid_mid");
    }

    public static String residPost(int layer) {
        return block(layer, "hook_resid_post");
    }

    /** {@code blocks.L.hook_mlp_in} (optional): the residual stream entering the MLP's LayerNorm. */
    public static String mlpIn(int layer) {
        return block(layer, "hook_mlp_in");
    }

    public static String attnOut(int layer) {
        return block(layer, "hook_attn_out");
    }

    public static String mlpOut(int layer) {
        return block(layer, "hook_mlp_out");
    }

    /** {@code blocks.L.attn.<point>}: {@code hook_q}, {@code hook_k}, {@code hook_v}, {@code hook_z} ... */
    public static String attn(int layer, String point) {
        return block(layer, "attn." + point);
    }

    /** {@code blocks.L.mlp.<point>}: {@code hook_pre}, {@code hook_post}. */
    public static String mlp(int layer, String point) {
        return block(layer, "mlp." + point);
    }

    /** " (did you mean 'x'?)" for the closest of {@code known} by edit distance, or "" when none is close. */
    static String suggest(String name, Collection<String> known) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(name, k);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best != null && bestD <= Math.max(3, name.length() / 3) ? " (did you mean '" + best + "'?)" : "";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
