package dev.loupe.interp.patching;

import dev.loupe.interp.patching.PathPatching.Receiver;
import dev.loupe.interp.patching.PathPatching.Sender;
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
 * <p>Senders and receivers are {@link PathPatching.Sender} and {@link PathPatching.Receiver} values, so an edge goes
 * straight to {@link PathPatching#edge}; {@link #name(PathPatching.Sender)} and {@link #name(PathPatching.Receiver)}
 * give the short names above.
 *
 * @param senders      the senders, one per row of {@code scores}
 * @param receivers    the receivers ({@link PathPatching.Receiver.HeadInput}, {@link PathPatching.Receiver.MlpInput},
 *                     {@link PathPatching.Receiver.FinalResidual}), one per column
 * @param scores       [sender, receiver] estimated metric changes
 * @param targetMetric the metric of the target run
 * @param sourceMetric the metric of the source run
 */
public record EdgeAttribution(List<Sender> senders, List<Receiver> receivers, Tensor scores, float targetMetric,
                              float sourceMetric) {
    public EdgeAttribution {
        senders = List.copyOf(senders);
        receivers = List.copyOf(receivers);
        if (scores.rank() != 2 || scores.size(0) != senders.size() || scores.size(1) != receivers.size()) {
            throw new IllegalArgumentException("scores " + Arrays.toString(scores.shape()) + " for " + senders.size()
                    + " senders and " + receivers.size() + " receivers");
        }
    }

    /** The score of the edge {@code sender} → {@code receiver}. */
    public float score(Sender sender, Receiver receiver) {
        int s = senders.indexOf(sender), r = receivers.indexOf(receiver);
        if (s < 0) throw new IllegalArgumentException("no sender " + sender + " (have " + senderNames() + ")");
        if (r < 0) throw new IllegalArgumentException("no receiver " + receiver + " (have " + receiverNames() + ")");
        return scores.get(s, r);
    }

    /** The score of the edge named {@code sender} → {@code receiver}, e.g. {@code score("L0H3", "L1H2.k")}. */
    public float score(String sender, String receiver) {
        int s = senderNames().indexOf(sender), r = receiverNames().indexOf(receiver);
        if (s < 0) throw new IllegalArgumentException("no sender '" + sender + "' (have " + senderNames() + ")");
        if (r < 0) throw new IllegalArgumentException("no receiver '" + receiver + "' (have " + receiverNames() + ")");
        return scores.get(s, r);
    }

    /** The senders' names ({@link #name(Sender)}), one per row. */
    public List<String> senderNames() {
        return senders.stream().map(EdgeAttribution::name).toList();
    }

    /** The receivers' names ({@link #name(Receiver)}), one per column. */
    public List<String> receiverNames() {
        return receivers.stream().map(EdgeAttribution::name).toList();
    }

    /** {@code embed}, {@code LxHy} or {@code MLPx}. */
    public static String name(Sender s) {
        return switch (s) {
            case Sender.Embed e -> "embed";
            case Sender.Head h -> "L" + h.layer() + "H" + h.head();
            case Sender.Mlp m -> "MLP" + m.layer();
        };
    }

    /** {@code LxHy.q}, {@code .k}, {@code .v}, {@code MLPx} (its input) or {@code resid_final}. */
    public static String name(Receiver r) {
        return switch (r) {
            case Receiver.HeadInput in -> "L" + in.layer() + "H" + in.head() + "." + in.which();
            case Receiver.MlpInput in -> "MLP" + in.layer();
            case Receiver.FinalResidual f -> "resid_final";
            case Receiver.HeadOutput out -> throw new IllegalArgumentException("edge attribution has no head-output "
                    + "receivers: " + out);
        };
    }

    /**
     * Whether {@code sender} writes to the residual stream before {@code receiver} reads it: the embeddings feed
     * every receiver; a head in layer L feeds later layers' head inputs and MLP inputs from layer L on (an MLP reads
     * its own layer's attention); an MLP in layer L feeds layers after L; both feed the final residual. Edges that
     * are not upstream score 0.
     */
    public static boolean upstream(Sender sender, Receiver receiver) {
        return stage(sender) < stage(receiver);
    }

    /** embed 0; layer L's heads 2L + 1, its MLP 2L + 2. */
    private static int stage(Sender s) {
        return switch (s) {
            case Sender.Embed e -> 0;
            case Sender.Head h -> 2 * h.layer() + 1;
            case Sender.Mlp m -> 2 * m.layer() + 2;
        };
    }

    /** Layer L's head inputs 2L + 1, its MLP input 2L + 2, the final residual after every sender. */
    private static int stage(Receiver r) {
        return switch (r) {
            case Receiver.HeadInput in -> 2 * in.layer() + 1;
            case Receiver.MlpInput in -> 2 * in.layer() + 2;
            case Receiver.FinalResidual f -> Integer.MAX_VALUE;
            case Receiver.HeadOutput out -> throw new IllegalArgumentException("edge attribution has no head-output "
                    + "receivers: " + out);
        };
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
        List<SenderNode> senders = senders(c);
        List<ReceiverNode> receivers = receivers(c);
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
            SenderNode s = senders.get(i);
            deltas[i] = slice(sc.get(s.point), s.head).sub(slice(tc.get(s.point), s.head)).reshape(-1);
        }
        for (int j = 0; j < grads.length; j++) {
            ReceiverNode r = receivers.get(j);
            grads[j] = tc.hasGrad(r.point) ? slice(tc.grad(r.point), r.head).reshape(-1)
                    : Tensor.zeros(target.batch() * target.length() * c.dModel());
        }
        float[] upstream = new float[deltas.length * grads.length];
        for (int i = 0; i < deltas.length; i++) {
            for (int j = 0; j < grads.length; j++) {
                upstream[i * grads.length + j] = upstream(senders.get(i).sender, receivers.get(j).receiver) ? 1 : 0;
            }
        }
        Tensor scores = Tensor.stack(0, deltas).matmul(Tensor.stack(0, grads).transpose(0, 1))
                .mul(Tensor.of(upstream, deltas.length, grads.length));
        return new EdgeAttribution(senders.stream().map(SenderNode::sender).toList(),
                receivers.stream().map(ReceiverNode::receiver).toList(), scores, targetMetric,
                metric.apply(src.logits()).item());
    }

    /** A sender, the hook point holding its residual-stream output, and the head slice of that point (-1: none). */
    private record SenderNode(Sender sender, String point, int head) {
    }

    /** A receiver, the hook point holding its residual-stream input, and the head slice of that point (-1: none). */
    private record ReceiverNode(Receiver receiver, String point, int head) {
    }

    /** [batch, pos, (head,) d_model] → [batch, pos, d_model] */
    private static Tensor slice(Tensor t, int head) {
        return head < 0 ? t : t.select(2, head);
    }

    private static List<SenderNode> senders(Gpt2Config c) {
        List<SenderNode> out = new ArrayList<>(List.of(new SenderNode(new Sender.Embed(), HookNames.EMBED, -1)));
        for (int l = 0; l < c.nLayers(); l++) {
            for (int h = 0; h < c.nHeads(); h++) {
                out.add(new SenderNode(new Sender.Head(l, h), HookNames.attn(l, "hook_result"), h));
            }
            if (!c.attnOnly()) out.add(new SenderNode(new Sender.Mlp(l), HookNames.mlpOut(l), -1));
        }
        return out;
    }

    private static List<ReceiverNode> receivers(Gpt2Config c) {
        List<ReceiverNode> out = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            for (int h = 0; h < c.nHeads(); h++) {
                for (char which : new char[] {'q', 'k', 'v'}) {
                    Receiver.HeadInput in = new Receiver.HeadInput(l, h, which);
                    out.add(new ReceiverNode(in, in.point(), h));
                }
            }
            if (!c.attnOnly()) out.add(new ReceiverNode(new Receiver.MlpInput(l), HookNames.mlpIn(l), -1));
        }
        out.add(new ReceiverNode(new Receiver.FinalResidual(), HookNames.residPost(c.nLayers() - 1), -1));
        return out;
    }

    private static boolean isSenderPoint(String n) {
        return n.equals(HookNames.EMBED) || n.endsWith("attn.hook_result") || n.endsWith("hook_mlp_out");
    }

    private static boolean isReceiverPoint(String n) {
        return n.endsWith("_input") || n.endsWith("hook_mlp_in") || n.endsWith("hook_resid_post");
    }
}
