package dev.loupe.interp.patching;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Direct attribution between every pair of components (edge attribution patching, Syed et al. 2023): the first-order
 * estimate of {@link PathPatching#edge} for every sender → receiver edge at once, from one source pass, one target
 * pass and one backward pass. Through the residual decomposition, a sender's change reaches a receiver's input
 * directly as (source output − target output) in residual-stream space, so
 *
 * <pre>  score(s → r) = Σ_{batch, pos, d_model} (out_s(source) − out_s(target)) ⊙ ∂metric/∂in_r (on the target run)</pre>
 *
 * <p>Senders, in residual order: {@code embed} (token embeddings), then per layer L its heads {@code LxHy} (output
 * z_h @ W_O[h]) and {@code MLPx}. Receivers: per layer each head's {@code LxHy.q}, {@code .k}, {@code .v} input
 * (the optional {@code hook_q_input} ... points) and {@code MLPx} (its {@code hook_mlp_in}), then
 * {@code resid_final} (the input of {@code ln_final}). A sender that is not upstream of a receiver (a head in the
 * receiver's layer or later; an MLP in its layer or later, for head receivers) scores 0.
 *
 * <p>Denoising scores put source = clean into target = corrupted ((clean − corrupted) ⊙ the gradient
 * on the corrupted run); noising swaps them and estimates {@link PathPatching#edge} − metric(clean). With
 * {@link AttributionPatching.Options} freezing patterns and LayerNorm scales, an attention-only model is affine in
 * every receiver input and the scores are exact.
 *
 * @param senders      sender names, one per row of {@code scores}
 * @param receivers    receiver names, one per column
 * @param scores       [sender, receiver] estimated metric changes
 * @param targetMetric the metric of the target run
 * @param sourceMetric the metric of the source run
 */
public record EdgeAttribution(List<String> senders, List<String> receivers, Tensor scores, float targetMetric,
                              float sourceMetric) {
    public EdgeAttribution {
        senders = List.copyOf(senders);
        receivers = List.copyOf(receivers);
        if (scores.rank() != 2 || scores.size(0) != senders.size() || scores.size(1) != receivers.size()) {
            throw new IllegalArgumentException("scores " + Arrays.toString(scores.shape()) + " for " + senders.size()
                    + " senders and " + receivers.size() + " receivers");
        }
    }

    /** The score of the edge {@code sender} → {@code receiver}, e.g. {@code score("L0H3", "L1H2.k")}. */
    public float score(String sender, String receiver) {
        int s = senders.indexOf(sender), r = receivers.indexOf(receiver);
        if (s < 0) throw new IllegalArgumentException("no sender '" + sender + "' (have " + senders + ")");
        if (r < 0) throw new IllegalArgumentException("no receiver '" + receiver + "' (have " + receivers + ")");
        return scores.get(s, r);
    }

    /**
     * Scores of every edge.
     *
     * @param target the run the gradient is taken on and patched into (corrupted tokens when denoising), [batch, pos]
     * @param source the run sender outputs come from (clean when denoising), the same shape
     */
    public static EdgeAttribution run(Gpt2Model model, TokenBatch target, TokenBatch source, Metric metric,
                                      AttributionPatching.Options options) {
        if (target.batch() != source.batch() || target.length() != source.length()) {
            throw new IllegalArgumentException("target " + target + " and source " + source + " must have the same "
                    + "batch size and length");
        }
        Gpt2Config c = model.config();
        List<Node> senders = senders(c), receivers = receivers(c);
        Gpt2Model.Output src;
        try (var off = Autograd.noGrad()) {
            src = model.run(source, Hooks.builder().cache(EdgeAttribution::isSenderPoint).build());
        }
        Gpt2Model.Output tgt = model.run(target, AttributionPatching.cutGradients(Hooks.builder()
                .cache(n -> isSenderPoint(n) || isReceiverPoint(n)).cacheGradients(), options).build());
        Tensor m = metric.apply(tgt.logits());
        float targetMetric = m.item();
        m.backward();
        ActivationCache sc = src.cache(), tc = tgt.cache();

        // deltas [sender, batch·pos·d_model] and gradients [receiver, batch·pos·d_model]; scores = deltas @ gradsᵀ
        Tensor[] deltas = new Tensor[senders.size()], grads = new Tensor[receivers.size()];
        for (int i = 0; i < deltas.length; i++) {
            Node s = senders.get(i);
            deltas[i] = s.slice(sc.get(s.point)).sub(s.slice(tc.get(s.point))).reshape(-1);
        }
        for (int j = 0; j < grads.length; j++) {
            Node r = receivers.get(j);
            grads[j] = tc.hasGrad(r.point) ? r.slice(tc.grad(r.point)).reshape(-1)
                    : Tensor.zeros(target.batch() * target.length() * c.dModel());
        }
        float[] upstream = new float[deltas.length * grads.length];
        for (int i = 0; i < deltas.length; i++) {
            for (int j = 0; j < grads.length; j++) {
                upstream[i * grads.length + j] = senders.get(i).stage < receivers.get(j).stage ? 1 : 0;
            }
        }
        Tensor scores = Tensor.stack(0, deltas).matmul(Tensor.stack(0, grads).transpose(0, 1))
                .mul(Tensor.of(upstream, deltas.length, grads.length));
        return new EdgeAttribution(senders.stream().map(n -> n.name).toList(),
                receivers.stream().map(n -> n.name).toList(), scores, targetMetric, metric.apply(src.logits()).item());
    }

    /**
     * A sender or receiver: its name, the hook point holding its residual-stream vector, the head slice of that point
     * (-1 for none), and its stage in residual order (embed 0; layer L's attention 2L + 1, its MLP 2L + 2; the final
     * residual last). A receiver reads what senders of earlier stages wrote.
     */
    private record Node(String name, String point, int head, int stage) {
        /** [batch, pos, (head,) d_model] → [batch, pos, d_model] */
        Tensor slice(Tensor t) {
            return head < 0 ? t : t.select(2, head);
        }
    }

    private static List<Node> senders(Gpt2Config c) {
        List<Node> out = new ArrayList<>(List.of(new Node("embed", HookNames.EMBED, -1, 0)));
        for (int l = 0; l < c.nLayers(); l++) {
            for (int h = 0; h < c.nHeads(); h++) {
                out.add(new Node("L" + l + "H" + h, HookNames.attn(l, "hook_result"), h, 2 * l + 1));
            }
            if (!c.attnOnly()) out.add(new Node("MLP" + l, HookNames.mlpOut(l), -1, 2 * l + 2));
        }
        return out;
    }

    private static List<Node> receivers(Gpt2Config c) {
        List<Node> out = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            for (int h = 0; h < c.nHeads(); h++) {
                for (String which : List.of("q", "k", "v")) {
                    out.add(new Node("L" + l + "H" + h + "." + which, HookNames.block(l, "hook_" + which + "_input"),
                            h, 2 * l + 1));
                }
            }
            if (!c.attnOnly()) out.add(new Node("MLP" + l, HookNames.mlpIn(l), -1, 2 * l + 2));
        }
        out.add(new Node("resid_final", HookNames.residPost(c.nLayers() - 1), -1, 2 * c.nLayers() + 1));
        return out;
    }

    private static boolean isSenderPoint(String n) {
        return n.equals(HookNames.EMBED) || n.endsWith("attn.hook_result") || n.endsWith("hook_mlp_out");
    }

    private static boolean isReceiverPoint(String n) {
        return n.endsWith("_input") || n.endsWith("hook_mlp_in") || n.endsWith("hook_resid_post");
    }
}
