package dev.loupe.interp.patching;

import dev.loupe.interp.ablation.Ablation;
import dev.loupe.interp.ablation.Ablator;
import dev.loupe.interp.ablation.Target;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Path patching (Wang et al. 2022, appendix B): how much of a metric flows along the direct paths from some senders
 * (heads, MLPs, the token embeddings) to some receivers (a head's query, key or value input, a head's output, an
 * MLP's input, the final residual stream).
 *
 * <ol>
 *   <li>Cache the clean and the corrupted run.</li>
 *   <li>Run clean with the senders' outputs taken from the corrupted run (or scaled, for the soft variant) and every
 *       other head's output frozen to its clean value (and, with {@link Options#freezeMlps}, every MLP's); cache
 *       the receivers.</li>
 *   <li>Run clean with only the receivers patched to those values, and measure.</li>
 * </ol>
 * Receiver inputs are the optional points {@code hook_q_input}, {@code hook_k_input}, {@code hook_v_input} (per head)
 * and {@code hook_mlp_in}, so patching one changes that head's query, key or value, or that MLP, and nothing else.
 *
 * <p>With every component upstream of the receivers as a sender (the embeddings, every earlier head and MLP), step 2
 * reproduces the corrupted run at the receivers, and path patching becomes activation patching of the receivers.
 */
public final class PathPatching {
    private PathPatching() {
    }

    /** A component whose output is changed. */
    public sealed interface Sender {
        /** One head's output (its {@code hook_z} slice). */
        record Head(int layer, int head) implements Sender {
        }

        /** One layer's MLP output ({@code hook_mlp_out}). */
        record Mlp(int layer) implements Sender {
        }

        /**
         * The token embeddings ({@code hook_embed}), the residual stream's first term. Position embeddings are not
         * part of it: a clean and corrupted pair of one length and mask have the same ones.
         */
        record Embed() implements Sender {
        }
    }

    /** Where the sender's change is read. */
    public sealed interface Receiver {
        /** A head's query ({@code 'q'}), key ({@code 'k'}) or value ({@code 'v'}) input. */
        record HeadInput(int layer, int head, char which) implements Receiver {
            public HeadInput {
                if (which != 'q' && which != 'k' && which != 'v') {
                    throw new IllegalArgumentException("which must be q, k or v, got " + which);
                }
            }

            String point() {
                return HookNames.block(layer, "hook_" + which + "_input");
            }
        }

        /** A head's output ({@code hook_z} slice). */
        record HeadOutput(int layer, int head) implements Receiver {
        }

        /** An MLP's input ({@code hook_mlp_in}: the residual stream entering its LayerNorm). */
        record MlpInput(int layer) implements Receiver {
        }

        /** The final residual stream, read only by the unembedding. */
        record FinalResidual() implements Receiver {
        }
    }

    /** @param freezeMlps also freeze every MLP (not a sender) to its clean output in step 2 */
    public record Options(boolean freezeMlps) {
    }

    /**
     * The metric after patching the paths from {@code senders} (corrupted values) to {@code receivers}.
     *
     * @param clean     tokens [batch, pos]
     * @param corrupted tokens of the same shape
     */
    public static float run(Gpt2Model model, TokenBatch clean, TokenBatch corrupted, List<Sender> senders,
                            List<Receiver> receivers, Metric metric, Options options) {
        checkPair(clean, corrupted);
        ActivationCache cleanCache = cache(model, clean), corruptCache = cache(model, corrupted);
        return threePass(model, clean, cleanCache, corruptCache, senders, receivers, metric, options);
    }

    /**
     * The soft variant: senders' outputs multiplied by {@code alpha} (e.g. −1), no corrupted prompt.
     */
    public static float soft(Gpt2Model model, TokenBatch clean, List<Sender> senders, float alpha,
                             List<Receiver> receivers, Metric metric, Options options) {
        ActivationCache cleanCache = cache(model, clean);
        ActivationCache scaled = new ActivationCache(); // the sender values threePass reads
        for (String name : cleanCache.names()) {
            if (name.endsWith("attn.hook_z") || name.endsWith("hook_mlp_out") || name.equals(HookNames.EMBED)) {
                scaled.put(name, cleanCache.get(name).mul(alpha));
            }
        }
        return threePass(model, clean, cleanCache, scaled, senders, receivers, metric, options);
    }

    /**
     * The soft variant with explicit values: each sender's output replaced by the given tensor, no corrupted prompt.
     * A head's value is its {@code hook_z} slice [batch, pos, d_head]; an MLP's is its output and the embeddings'
     * the token embeddings, [batch, pos, d_model].
     *
     * @throws IllegalArgumentException if a value has another shape
     */
    public static float soft(Gpt2Model model, TokenBatch clean, Map<Sender, Tensor> values, List<Receiver> receivers,
                             Metric metric, Options options) {
        ActivationCache cleanCache = cache(model, clean);
        ActivationCache replaced = new ActivationCache();
        for (Map.Entry<Sender, Tensor> e : values.entrySet()) {
            String point = senderPoint(model, e.getKey());
            Tensor full = replaced.has(point) ? replaced.get(point) : copy(cleanCache.get(point));
            Tensor slot = e.getKey() instanceof Sender.Head h ? full.select(2, h.head()) : full;
            if (!Arrays.equals(slot.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("value for " + e.getKey() + " has shape "
                        + Arrays.toString(e.getValue().shape()) + " but expected " + Arrays.toString(slot.shape()));
            }
            slot.copyFrom(e.getValue());
            replaced.put(point, full);
        }
        return threePass(model, clean, cleanCache, replaced, List.copyOf(values.keySet()), receivers, metric, options);
    }

    /**
     * Every single head as the sender, for a fixed set of receivers.
     *
     * @return [layer, head] metric values
     */
    public static Tensor sweepHeads(Gpt2Model model, TokenBatch clean, TokenBatch corrupted, List<Receiver> receivers,
                                    Metric metric, Options options) {
        checkPair(clean, corrupted);
        ActivationCache cleanCache = cache(model, clean), corruptCache = cache(model, corrupted);
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        float[] out = new float[layers * heads];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                out[l * heads + h] = threePass(model, clean, cleanCache, corruptCache,
                        List.of(new Sender.Head(l, h)), receivers, metric, options);
            }
        }
        return Tensor.of(out, layers, heads);
    }

    /**
     * Edge patching by residual linearity: at the receiver's input, subtract the sender's clean output and add its
     * corrupted output (in residual-stream space), in one pass. Exact for the direct path.
     *
     * @param receiver a {@link Receiver.HeadInput}, {@link Receiver.MlpInput} or {@link Receiver.FinalResidual}
     */
    public static float edge(Gpt2Model model, TokenBatch clean, TokenBatch corrupted, Sender sender, Receiver receiver,
                             Metric metric) {
        checkPair(clean, corrupted);
        checkSender(model, sender);
        checkReceiver(model, receiver);
        ActivationCache cleanCache = cache(model, clean), corruptCache = cache(model, corrupted);
        Tensor delta = residualOutput(model, corruptCache, sender).sub(residualOutput(model, cleanCache, sender));
        Hooks.Builder b = Hooks.builder();
        switch (receiver) {
            case Receiver.HeadInput r -> {
                Target head = new Target.HeadSlice(r.point(), r.head(), null);
                b.forward(r.point(), (act, n) -> act.add(delta.unsqueeze(2).mul(Ablator.mask(head, act.shape()))));
            }
            case Receiver.MlpInput r -> b.forward(HookNames.mlpIn(r.layer()), (act, n) -> act.add(delta));
            case Receiver.FinalResidual r -> b.forward(HookNames.residPost(model.config().nLayers() - 1),
                    (act, n) -> act.add(delta));
            case Receiver.HeadOutput r -> throw new IllegalArgumentException("a head's output is not an input: edge "
                    + "patching needs a HeadInput, MlpInput or FinalResidual receiver");
        }
        return measure(model, clean, b.build(), metric);
    }

    // ---------------------------------------------------------------- the three passes

    private static float threePass(Gpt2Model model, TokenBatch clean, ActivationCache cleanCache,
                                   ActivationCache senderCache, List<Sender> senders, List<Receiver> receivers,
                                   Metric metric, Options options) {
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        for (Sender s : senders) checkSender(model, s);
        for (Receiver r : receivers) checkReceiver(model, r);
        // Step 2: senders from senderCache, other heads (not receivers' outputs) frozen clean; cache receivers.
        Hooks.Builder step2 = Hooks.builder().cache(n -> receivers.stream().anyMatch(r -> pointOf(model, r).equals(n)));
        if (senders.contains(new Sender.Embed())) {
            Tensor v = senderCache.get(HookNames.EMBED);
            step2.forward(HookNames.EMBED, (act, n) -> v);
        }
        for (int l = 0; l < layers; l++) {
            float[] send = new float[heads], freeze = new float[heads];
            for (int h = 0; h < heads; h++) {
                boolean isSender = senders.contains(new Sender.Head(l, h));
                boolean isReceiver = receivers.contains(new Receiver.HeadOutput(l, h));
                send[h] = isSender ? 1 : 0;
                freeze[h] = !isSender && !isReceiver ? 1 : 0;
            }
            Tensor sendMask = Tensor.of(send, 1, 1, heads, 1), freezeMask = Tensor.of(freeze, 1, 1, heads, 1);
            Tensor keep = sendMask.add(freezeMask).neg().add(1);
            String z = HookNames.attn(l, "hook_z");
            Tensor zClean = cleanCache.get(z), zSend = senderCache.has(z) ? senderCache.get(z) : zClean;
            step2.forward(z, (act, n) -> act.mul(keep).add(zSend.mul(sendMask)).add(zClean.mul(freezeMask)));
            if (!model.config().attnOnly()) {
                String mlp = HookNames.mlpOut(l);
                if (senders.contains(new Sender.Mlp(l))) {
                    Tensor v = senderCache.get(mlp);
                    step2.forward(mlp, (act, n) -> v);
                } else if (options.freezeMlps()) {
                    Tensor v = cleanCache.get(mlp);
                    step2.forward(mlp, (act, n) -> v);
                }
            }
        }
        ActivationCache received;
        try (var off = Autograd.noGrad()) {
            received = model.run(clean, step2.build()).cache();
        }
        // Step 3: only the receivers patched.
        List<Ablation.Spec> patches = new ArrayList<>();
        for (Receiver r : receivers) {
            String point = pointOf(model, r);
            Target t = switch (r) {
                case Receiver.HeadInput in -> new Target.HeadSlice(point, in.head(), null);
                case Receiver.HeadOutput out -> new Target.HeadSlice(point, out.head(), null);
                case Receiver.MlpInput _, Receiver.FinalResidual _ -> new Target.Stream(point, null);
            };
            patches.add(Ablation.values(t, received.get(point)));
        }
        return measure(model, clean, Ablator.addTo(Hooks.builder(), model, clean, patches).build(), metric);
    }

    private static String pointOf(Gpt2Model model, Receiver r) {
        return switch (r) {
            case Receiver.HeadInput in -> in.point();
            case Receiver.HeadOutput out -> HookNames.attn(out.layer(), "hook_z");
            case Receiver.MlpInput in -> HookNames.mlpIn(in.layer());
            case Receiver.FinalResidual f -> HookNames.residPost(model.config().nLayers() - 1);
        };
    }

    /** The sender's contribution to the residual stream: z_h @ W_O[h] for a head, the MLP output for an MLP: [b, p, m]. */
    private static Tensor residualOutput(Gpt2Model model, ActivationCache cache, Sender s) {
        return switch (s) {
            case Sender.Head h -> cache.get(HookNames.attn(h.layer(), "hook_z")).select(2, h.head())
                    .matmul(model.weights().wO(h.layer()).select(0, h.head()).detach());
            case Sender.Mlp m -> cache.get(HookNames.mlpOut(m.layer()));
            case Sender.Embed e -> cache.get(HookNames.EMBED);
        };
    }

    /** The hook point holding a sender's output. */
    private static String senderPoint(Gpt2Model model, Sender s) {
        checkSender(model, s);
        return switch (s) {
            case Sender.Head h -> HookNames.attn(h.layer(), "hook_z");
            case Sender.Mlp m -> HookNames.mlpOut(m.layer());
            case Sender.Embed e -> HookNames.EMBED;
        };
    }

    private static Tensor copy(Tensor t) {
        return Tensor.zeros(t.shape()).copyFrom(t);
    }

    private static ActivationCache cache(Gpt2Model model, TokenBatch batch) {
        try (var off = Autograd.noGrad()) {
            return model.run(batch, Hooks.cacheAll()).cache();
        }
    }

    private static float measure(Gpt2Model model, TokenBatch batch, Hooks hooks, Metric metric) {
        try (var off = Autograd.noGrad()) {
            return metric.apply(model.run(batch, hooks).logits()).item();
        }
    }

    private static void checkSender(Gpt2Model model, Sender s) {
        switch (s) {
            case Sender.Head h -> checkHead(model, h.layer(), h.head());
            case Sender.Mlp m -> checkMlp(model, m.layer());
            case Sender.Embed e -> {
            }
        }
    }

    private static void checkReceiver(Gpt2Model model, Receiver r) {
        switch (r) {
            case Receiver.HeadInput in -> checkHead(model, in.layer(), in.head());
            case Receiver.HeadOutput out -> checkHead(model, out.layer(), out.head());
            case Receiver.MlpInput in -> checkMlp(model, in.layer());
            case Receiver.FinalResidual f -> {
            }
        }
    }

    private static void checkHead(Gpt2Model model, int layer, int head) {
        checkLayer(model, layer);
        if (head < 0 || head >= model.config().nHeads()) {
            throw new IllegalArgumentException("head " + head + " outside 0.." + (model.config().nHeads() - 1));
        }
    }

    private static void checkMlp(Gpt2Model model, int layer) {
        checkLayer(model, layer);
        if (model.config().attnOnly()) {
            throw new IllegalArgumentException("MLP " + layer + ": the model is attention-only");
        }
    }

    private static void checkLayer(Gpt2Model model, int layer) {
        if (layer < 0 || layer >= model.config().nLayers()) {
            throw new IllegalArgumentException("layer " + layer + " outside 0.." + (model.config().nLayers() - 1));
        }
    }

    private static void checkPair(TokenBatch clean, TokenBatch corrupted) {
        if (clean.batch() != corrupted.batch() || clean.length() != corrupted.length()) {
            throw new IllegalArgumentException("clean " + clean + " and corrupted " + corrupted + " prompts must have the "
                    + "same batch size and length");
        }
    }

    /** Receivers for every head's query, key and value input in {@code layer}: a sweep's usual receiver set. */
    public static List<Receiver> allHeadInputs(int layer, int heads) {
        List<Receiver> r = new ArrayList<>();
        for (int h = 0; h < heads; h++) for (char c : new char[] {'q', 'k', 'v'}) r.add(new Receiver.HeadInput(layer, h, c));
        return r;
    }
}
