package dev.loupe.interp.patching;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.RandomGpt2;
import dev.loupe.interp.demo.AttributionCheck;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Edge attribution is the first-order term of edge patching. Held to: the real edge patch where the model is affine
 * in every receiver input (attention-only, patterns and LayerNorm scales held at the target run's values), the
 * directional derivative by central differences on a model with MLPs, and edge patching's own values by correlation.
 */
class EdgeAttributionTest {
    private static final int LAYERS = 3, D = 16, HEADS = 4, VOCAB = 30;
    private static final TokenBatch CLEAN = TokenBatch.of(new int[] {3, 11, 7, 19, 4, 25}, new int[] {8, 2, 6, 14, 1, 9});
    private static final TokenBatch CORRUPT = TokenBatch.of(new int[] {3, 11, 28, 19, 4, 25}, new int[] {8, 2, 6, 14, 22, 9});
    private static final Metric METRIC = Metrics.logitDiff(new int[] {5, 12}, new int[] {17, 3});

    private static Gpt2Model model(boolean attnOnly) {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, 12);
        return RandomGpt2.model(attnOnly ? c.attentionOnly() : c, 21, 0.3f);
    }

    /** A sender or receiver as the test knows it: point, head slice (-1: none), stage in residual order. */
    private record Node(String name, String point, int head, int stage) {
    }

    private static List<Node> senders(boolean mlps) {
        List<Node> out = new ArrayList<>(List.of(new Node("embed", HookNames.EMBED, -1, 0)));
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) out.add(new Node("L" + l + "H" + h, HookNames.attn(l, "hook_z"), h, 2 * l + 1));
            if (mlps) out.add(new Node("MLP" + l, HookNames.mlpOut(l), -1, 2 * l + 2));
        }
        return out;
    }

    private static List<Node> receivers(boolean mlps) {
        List<Node> out = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                for (String w : List.of("q", "k", "v")) {
                    out.add(new Node("L" + l + "H" + h + "." + w, HookNames.block(l, "hook_" + w + "_input"), h, 2 * l + 1));
                }
            }
            if (mlps) out.add(new Node("MLP" + l, HookNames.mlpIn(l), -1, 2 * l + 2));
        }
        out.add(new Node("resid_final", HookNames.residPost(LAYERS - 1), -1, 99));
        return out;
    }

    /** The sender's residual-stream output [batch, pos, d_model], from z and W_O for a head. */
    private static Tensor output(Gpt2Model m, ActivationCache c, Node s) {
        if (s.head < 0) return c.get(s.point);
        int layer = Integer.parseInt(s.name.substring(1, s.name.indexOf('H')));
        return c.get(s.point).select(2, s.head).matmul(m.weights().wO(layer).select(0, s.head));
    }

    /** {@code delta} [batch, pos, d_model] added at the receiver's input (its head's slice). */
    private static Hooks.Builder addAt(Hooks.Builder b, Node r, Tensor delta) {
        return b.forward(r.point, (act, n) -> {
            if (r.head < 0) return act.add(delta);
            float[] mask = new float[HEADS];
            mask[r.head] = 1;
            return act.add(delta.unsqueeze(2).mul(Tensor.of(mask, 1, 1, HEADS, 1)));
        });
    }

    @Test
    void exactWhereTheModelIsAffineInEveryReceiverInput() {
        Gpt2Model m = model(true);
        EdgeAttribution e = EdgeAttribution.run(m, CORRUPT, CLEAN, METRIC, new AttributionPatching.Options(true, true, null));
        List<Node> senders = senders(false), receivers = receivers(false);
        assertEquals(senders.stream().map(Node::name).toList(), e.senderNames());
        assertEquals(receivers.stream().map(Node::name).toList(), e.receiverNames());
        // Every optional point computed, so LayerNorm 1's scale has one shape in every run: [b, p, 3, head, 1].
        ActivationCache clean = m.run(CLEAN, Hooks.builder().cache(n -> true).build()).cache();
        ActivationCache corrupt = m.run(CORRUPT, Hooks.builder().cache(n -> true).build()).cache();
        java.util.function.Supplier<Hooks.Builder> frozen = () -> Hooks.builder().cache(n -> true)
                .forward(n -> n.endsWith("hook_pattern") || n.endsWith("hook_scale"), (act, n) -> corrupt.get(n));
        float base = METRIC.apply(m.run(CORRUPT, frozen.get().build()).logits()).item();
        assertEquals(base, e.targetMetric(), 1e-5);
        int exact = 0;
        for (int i = 0; i < senders.size(); i++) {
            Node s = senders.get(i);
            Tensor delta = output(m, clean, s).sub(output(m, corrupt, s));
            for (int j = 0; j < receivers.size(); j++) {
                Node r = receivers.get(j);
                float score = e.scores().get(i, j);
                if (s.stage >= r.stage || r.name.endsWith(".q") || r.name.endsWith(".k")) {
                    // not upstream; or a query/key, which acts only through the frozen pattern
                    assertEquals(0f, score, 0f, s.name + " -> " + r.name);
                    continue;
                }
                float patched = METRIC.apply(m.run(CORRUPT, addAt(frozen.get(), r, delta).build()).logits()).item();
                assertEquals(patched - base, score, 1e-4 * Math.max(1, Math.abs(patched - base)), s.name + " -> " + r.name);
                if (Math.abs(score) > 1e-2) exact++;
            }
        }
        assertTrue(exact > 40, "edges with a real effect: " + exact);
        assertEquals(e.scores().get(1, receivers.size() - 1), e.score("L0H0", "resid_final"));
        assertThrows(IllegalArgumentException.class, () -> e.score("L0H9", "resid_final"));
    }

    @Test
    void onAModelWithMlpsEachScoreIsTheDirectionalDerivativeAlongTheSendersChange() {
        Gpt2Model m = model(false);
        EdgeAttribution e = EdgeAttribution.run(m, CORRUPT, CLEAN, METRIC, AttributionPatching.Options.none());
        List<Node> senders = senders(true), receivers = receivers(true);
        assertEquals(receivers.stream().map(Node::name).toList(), e.receiverNames());
        ActivationCache clean = m.run(CLEAN, Hooks.cacheAll()).cache(), corrupt = m.run(CORRUPT, Hooks.cacheAll()).cache();
        List<String[]> pairs = new ArrayList<>(List.of(new String[][] {{"embed", "MLP0"}, {"L0H1", "MLP1"},
                {"L0H0", "L2H1.k"}, {"MLP0", "L1H0.v"}, {"MLP1", "resid_final"}, {"L1H2", "MLP1"}, {"MLP0", "MLP2"},
                {"embed", "L0H3.k"}}));
        // queries act at the last position only (the metric reads it), where few senders change much: try them all
        for (int h = 0; h < HEADS; h++) for (int q = 0; q < HEADS; q++) pairs.add(new String[] {"L0H" + h, "L1H" + q + ".q"});
        float eps = 1e-2f, largestQuery = 0;
        for (String[] p : pairs) {
            Node s = senders.stream().filter(n -> n.name.equals(p[0])).findFirst().orElseThrow();
            Node r = receivers.stream().filter(n -> n.name.equals(p[1])).findFirst().orElseThrow();
            Tensor delta = output(m, clean, s).sub(output(m, corrupt, s));
            float plus = METRIC.apply(m.run(CORRUPT, addAt(Hooks.builder(), r, delta.mul(eps)).build()).logits()).item();
            float minus = METRIC.apply(m.run(CORRUPT, addAt(Hooks.builder(), r, delta.mul(-eps)).build()).logits()).item();
            double derivative = (plus - minus) / (2.0 * eps);
            float score = e.score(p[0], p[1]);
            assertEquals(derivative, score, 2e-4 + 2e-3 * Math.abs(derivative), p[0] + " -> " + p[1]);
            if (p[1].endsWith(".q")) largestQuery = Math.max(largestQuery, Math.abs(score));
            else assertTrue(Math.abs(score) > 1e-3, p[0] + " -> " + p[1] + " has an effect: " + score);
        }
        assertTrue(largestQuery > 5e-3, "some query edge has an effect: " + largestQuery);
    }

    @Test
    void noisingScoresTrackEdgePatchingOnASmoothRandomModel() {
        // Matrices at std 0.15: patterns far from uniform still, but a token swap is no longer a jump across
        // the softmax (at std 0.3, query and key edges correlate at 0.75 and 0.38, values at 0.92, all at 0.81).
        Gpt2Model m = RandomGpt2.model(Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, 12), 21, 0.15f);
        EdgeAttribution e = EdgeAttribution.run(m, CLEAN, CORRUPT, METRIC, AttributionPatching.Options.none());
        float cleanMetric = METRIC.apply(m.forward(CLEAN)).item();
        assertEquals(cleanMetric, e.targetMetric(), 1e-5);
        List<Node> senders = senders(true), receivers = receivers(true);
        List<Float> est = new ArrayList<>(), actual = new ArrayList<>();
        for (int i = 0; i < senders.size(); i++) {
            for (int j = 0; j < receivers.size(); j++) {
                if (senders.get(i).stage >= receivers.get(j).stage) continue;
                est.add(e.scores().get(i, j));
                actual.add(PathPatching.edge(m, CLEAN, CORRUPT, sender(senders.get(i).name),
                        receiver(receivers.get(j).name), METRIC) - cleanMetric);
            }
        }
        double r = AttributionCheck.pearson(vector(actual), vector(est));
        System.out.printf("edge attribution vs edge patching on a random model: r = %.4f over %d edges%n", r, est.size());
        assertTrue(r > 0.9, "r = " + r);
    }

    private static Tensor vector(List<Float> v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i);
        return Tensor.of(f, f.length);
    }

    private static PathPatching.Sender sender(String name) {
        if (name.equals("embed")) return new PathPatching.Sender.Embed();
        if (name.startsWith("MLP")) return new PathPatching.Sender.Mlp(name.charAt(3) - '0');
        return new PathPatching.Sender.Head(name.charAt(1) - '0', name.charAt(3) - '0');
    }

    private static PathPatching.Receiver receiver(String name) {
        if (name.equals("resid_final")) return new PathPatching.Receiver.FinalResidual();
        if (name.startsWith("MLP")) return new PathPatching.Receiver.MlpInput(name.charAt(3) - '0');
        return new PathPatching.Receiver.HeadInput(name.charAt(1) - '0', name.charAt(3) - '0', name.charAt(5));
    }
}
