package dev.loupe.cli;

import dev.loupe.interp.patching.ActivationPatching.HeadPoint;
import dev.loupe.interp.patching.ActivationPatching.Stream;
import dev.loupe.transformer.gpt2.Gpt2Config;
import java.util.List;
import java.util.function.Predicate;

/**
 * The {@code --activation KIND} of {@code loupe patch} and {@code loupe attribution-patch}: exactly one of a
 * residual-stream component patched by (layer, position) ({@code stream}), a per-head point over all positions or by
 * position ({@code head}, {@code byPosition}), or, where the command allows it, the MLP neurons (neither).
 *
 * @param base the kind without its {@code _pos} suffix, e.g. {@code resid_pre}, {@code z}, {@code neurons}
 */
record ActivationKind(String base, Stream stream, HeadPoint head, boolean byPosition) {
    /**
     * Reads {@code kind}, checked against {@code config} (a kind that needs MLPs fails on an attention-only model);
     * {@code neurons} says whether the command accepts {@code neurons}.
     */
    static ActivationKind parse(String kind, Gpt2Config config, boolean neurons) {
        boolean byPos = kind.endsWith("_pos");
        String base = byPos ? kind.substring(0, kind.length() - 4) : kind;
        if (!byPos) {
            Stream stream = switch (base) {
                case "resid_pre" -> Stream.RESID_PRE;
                case "resid_mid" -> Stream.RESID_MID;
                case "resid_post" -> Stream.RESID_POST;
                case "attn_out" -> Stream.ATTN_OUT;
                case "mlp_out" -> Stream.MLP_OUT;
                default -> null;
            };
            if (stream != null) {
                if (config.attnOnly() && (stream == Stream.RESID_MID || stream == Stream.MLP_OUT)) {
                    throw new IllegalArgumentException("--activation " + kind + ": this model has no MLPs");
                }
                return new ActivationKind(base, stream, null, false);
            }
            if (neurons && base.equals("neurons")) {
                if (config.attnOnly()) {
                    throw new IllegalArgumentException("--activation neurons: this model has no MLPs");
                }
                return new ActivationKind(base, null, null, false);
            }
        }
        HeadPoint point = switch (base) {
            case "z" -> HeadPoint.OUTPUT;
            case "q" -> HeadPoint.QUERY;
            case "k" -> HeadPoint.KEY;
            case "v" -> HeadPoint.VALUE;
            case "pattern" -> HeadPoint.PATTERN;
            default -> throw new IllegalArgumentException("--activation: unknown kind '" + kind + "' (resid_pre, "
                    + "resid_mid, resid_post, attn_out, mlp_out, z, z_pos, q, q_pos, k, k_pos, v, v_pos, pattern, "
                    + "pattern_pos" + (neurons ? ", neurons)" : ")"));
        };
        return new ActivationKind(base, null, point, byPos);
    }

    /** The hook points (by name) that hold this kind's activations in every layer. */
    Predicate<String> points() {
        String suffix = stream != null ? ".hook_" + base : head != null ? ".attn.hook_" + base : ".mlp.hook_post";
        return n -> n.endsWith(suffix);
    }

    /** The dims of a result over this kind: [layer, pos], [layer, head], [layer, head, pos] or [layer, neuron]. */
    List<String> dims() {
        if (stream != null) return List.of("layer", "pos");
        if (head == null) return List.of("layer", "neuron");
        return byPosition ? List.of("layer", "head", "pos") : List.of("layer", "head");
    }
}
