package dev.loupe.interp.patching;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.interp.patching.PathPatching.Receiver;
import dev.loupe.interp.patching.PathPatching.Sender;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Three-pass path patching with MLPs frozen carries only the direct path, so it must equal edge patching (the
 * sender's output difference added at the receiver's input), which for the final residual is itself checked against
 * a hand computation through the final LayerNorm and unembedding.
 */
class PathPatchingTest {
    private static final int LAYERS = 3, D = 16, HEADS = 4, VOCAB = 30;
    private static final Gpt2Model MODEL = model();
    private static final TokenBatch CLEAN = TokenBatch.of(new int[] {3, 11, 7, 19, 4, 25}, new int[] {8, 2, 6, 14, 1, 9});
    private static final TokenBatch CORRUPT = TokenBatch.of(new int[] {3, 20, 7, 19, 13, 25}, new int[] {8, 2, 27, 14, 1, 9});
    private static final Metric METRIC = Metrics.logitDiff(new int[] {5, 12}, new int[] {17, 3});
    private static final PathPatching.Options FREEZE = new PathPatching.Options(true);

    private static Gpt2Model model() {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, D, HEADS, VOCAB, 12);
        Gpt2Weights w = RandomGpt2.weights(c, 33, 0.3f);
        return new Gpt2Model(c, w);
    }

    private static void close(float expected, float actual) {
        assertEquals(expected, actual, 2e-5 * Math.max(1, Math.abs(expected)));
    }

    @Test
    void directPathToTheFinalResidualMatchesEdgePatchingAndAHandComputation() {
        Sender s = new Sender.Head(1, 2);
        float three = PathPatching.run(MODEL, CLEAN, CORRUPT, List.of(s), List.of(new Receiver.FinalResidual()), METRIC,
                FREEZE);
        float edge = PathPatching.edge(MODEL, CLEAN, CORRUPT, s, new Receiver.FinalResidual(), METRIC);
        close(edge, three);
        // by hand: final residual + (z_corr - z_clean)_h W_O[h], then ln_final and W_U at the last position
        ActivationCache clean = MODEL.run(CLEAN, Hooks.cacheAll()).cache(), corrupt = MODEL.run(CORRUPT, Hooks.cacheAll()).cache();
        Tensor wO = MODEL.weights().wO(1).select(0, 2);
        String z = HookNames.attn(1, "hook_z");
        Tensor delta = corrupt.get(z).select(2, 2).sub(clean.get(z).select(2, 2)).matmul(wO);
        Tensor resid = clean.get(HookNames.residPost(LAYERS - 1)).add(delta);
        Tensor logits = resid.layerNorm(MODEL.weights().lnFinalW(), MODEL.weights().lnFinalB(), 1e-5f)
                .matmul(MODEL.weights().wU());
        close(METRIC.apply(logits).item(), edge);
        assertNotEquals(METRIC.apply(MODEL.forward(CLEAN)).item(), edge, 1e-4);
    }

    @Test
    void threePassWithFrozenMlpsEqualsEdgePatchingIntoHeadInputs() {
        for (Sender s : List.of(new Sender.Head(0, 1), new Sender.Mlp(0), new Sender.Head(1, 3))) {
            for (char which : new char[] {'q', 'k', 'v'}) {
                Receiver r = new Receiver.HeadInput(2, 3, which);
                close(PathPatching.edge(MODEL, CLEAN, CORRUPT, s, r, METRIC),
                        PathPatching.run(MODEL, CLEAN, CORRUPT, List.of(s), List.of(r), METRIC, FREEZE));
            }
        }
    }

    @Test
    void threePassWithFrozenMlpsEqualsEdgePatchingIntoMlpInputs() {
        for (Sender s : List.of(new Sender.Embed(), new Sender.Head(0, 1), new Sender.Mlp(0), new Sender.Head(1, 3))) {
            Receiver r = new Receiver.MlpInput(2);
            close(PathPatching.edge(MODEL, CLEAN, CORRUPT, s, r, METRIC),
                    PathPatching.run(MODEL, CLEAN, CORRUPT, List.of(s), List.of(r), METRIC, FREEZE));
        }
        // a head feeds the MLP of its own layer
        Sender head = new Sender.Head(1, 2);
        Receiver mlp1 = new Receiver.MlpInput(1);
        float edge = PathPatching.edge(MODEL, CLEAN, CORRUPT, head, mlp1, METRIC);
        close(edge, PathPatching.run(MODEL, CLEAN, CORRUPT, List.of(head), List.of(mlp1), METRIC, FREEZE));
        assertNotEquals(METRIC.apply(MODEL.forward(CLEAN)).item(), edge, 1e-4);
    }

    @Test
    void everyUpstreamComponentAsSenderIsActivationPatchingOfTheReceivers() {
        List<Sender> all = new ArrayList<>(List.of(new Sender.Embed()));
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) all.add(new Sender.Head(l, h));
            all.add(new Sender.Mlp(l));
        }
        // The reference: the clean run with the receivers' points replaced by the corrupted run's values.
        ActivationCache corrupt = MODEL.run(CORRUPT, Hooks.builder().cache(n -> true).build()).cache();
        record Case(List<Receiver> receivers, String[] points, int[] heads) {
        }
        List<Case> cases = List.of(
                new Case(List.of(new Receiver.MlpInput(1)), new String[] {HookNames.mlpIn(1)}, new int[] {-1}),
                new Case(List.of(new Receiver.MlpInput(2)), new String[] {HookNames.mlpIn(2)}, new int[] {-1}),
                new Case(List.of(new Receiver.HeadInput(2, 1, 'k')),
                        new String[] {HookNames.block(2, "hook_k_input")}, new int[] {1}),
                new Case(List.of(new Receiver.HeadInput(1, 0, 'q'), new Receiver.HeadInput(1, 3, 'v')),
                        new String[] {HookNames.block(1, "hook_q_input"), HookNames.block(1, "hook_v_input")},
                        new int[] {0, 3}),
                new Case(List.of(new Receiver.HeadOutput(1, 3)), new String[] {HookNames.attn(1, "hook_z")},
                        new int[] {3}),
                new Case(List.of(new Receiver.FinalResidual()), new String[] {HookNames.residPost(LAYERS - 1)},
                        new int[] {-1}));
        for (Case c : cases) {
            Hooks.Builder b = Hooks.builder();
            for (int i = 0; i < c.points.length; i++) {
                Tensor value = corrupt.get(c.points[i]);
                int head = c.heads[i];
                b.forward(c.points[i], (act, n) -> {
                    if (head < 0) return value;
                    float[] m = new float[HEADS];
                    m[head] = 1;
                    Tensor mask = Tensor.of(m, 1, 1, HEADS, 1);
                    return act.mul(mask.neg().add(1)).add(value.mul(mask));
                });
            }
            float expected = METRIC.apply(MODEL.run(CLEAN, b.build()).logits()).item();
            close(expected, PathPatching.run(MODEL, CLEAN, CORRUPT, all, c.receivers, METRIC, new PathPatching.Options(false)));
            assertNotEquals(METRIC.apply(MODEL.forward(CLEAN)).item(), expected, 1e-4);
        }
    }

    @Test
    void explicitSenderValuesActLikeTheCorruptedRunsValues() {
        ActivationCache corrupt = MODEL.run(CORRUPT, Hooks.cacheAll()).cache();
        Sender head = new Sender.Head(1, 2), mlp = new Sender.Mlp(0), embed = new Sender.Embed();
        Map<Sender, Tensor> values = Map.of(head, corrupt.get(HookNames.attn(1, "hook_z")).select(2, 2),
                mlp, corrupt.get(HookNames.mlpOut(0)), embed, corrupt.get(HookNames.EMBED));
        List<Receiver> receivers = List.of(new Receiver.HeadInput(2, 0, 'v'), new Receiver.MlpInput(2));
        float soft = PathPatching.soft(MODEL, CLEAN, values, receivers, METRIC, FREEZE);
        close(PathPatching.run(MODEL, CLEAN, CORRUPT, List.of(head, mlp, embed), receivers, METRIC, FREEZE), soft);
        assertNotEquals(METRIC.apply(MODEL.forward(CLEAN)).item(), soft, 1e-4);
        assertThrows(IllegalArgumentException.class, () -> PathPatching.soft(MODEL, CLEAN,
                Map.of(head, corrupt.get(HookNames.mlpOut(0))), receivers, METRIC, FREEZE));
        assertThrows(IllegalArgumentException.class, () -> PathPatching.run(MODEL, CLEAN, CORRUPT,
                List.of(new Sender.Head(0, HEADS)), receivers, METRIC, FREEZE));
    }

    @Test
    void sendersAtOrAfterTheReceiversLayerChangeNothing() {
        float clean = METRIC.apply(MODEL.forward(CLEAN)).item();
        Tensor grid = PathPatching.sweepHeads(MODEL, CLEAN, CORRUPT, PathPatching.allHeadInputs(1, HEADS), METRIC,
                FREEZE);
        assertArrayEquals(new int[] {LAYERS, HEADS}, grid.shape());
        for (int l = 1; l < LAYERS; l++) for (int h = 0; h < HEADS; h++) close(clean, grid.get(l, h));
        assertNotEquals(clean, grid.get(0, 0), 1e-5);
    }

    @Test
    void softVariantScalesTheSendersOutput() {
        float clean = METRIC.apply(MODEL.forward(CLEAN)).item();
        List<Receiver> fin = List.of(new Receiver.FinalResidual());
        close(clean, PathPatching.soft(MODEL, CLEAN, List.of(new Sender.Head(2, 0)), 1f, fin, METRIC, FREEZE));
        // alpha = 0 on a last-layer head: the logits lose exactly that head's direct contribution
        ActivationCache c = MODEL.run(CLEAN, Hooks.cacheAll()).cache();
        Tensor contribution = c.get(HookNames.attn(2, "hook_z")).select(2, 0).matmul(MODEL.weights().wO(2).select(0, 0));
        Tensor resid = c.get(HookNames.residPost(LAYERS - 1)).sub(contribution);
        Tensor logits = resid.layerNorm(MODEL.weights().lnFinalW(), MODEL.weights().lnFinalB(), 1e-5f)
                .matmul(MODEL.weights().wU());
        close(METRIC.apply(logits).item(), PathPatching.soft(MODEL, CLEAN, List.of(new Sender.Head(2, 0)), 0f, fin,
                METRIC, FREEZE));
        assertThrows(IllegalArgumentException.class, () -> PathPatching.edge(MODEL, CLEAN, CORRUPT,
                new Sender.Head(0, 0), new Receiver.HeadOutput(1, 0), METRIC));
        assertThrows(IllegalArgumentException.class, () -> new Receiver.HeadInput(1, 0, 'x'));
    }
}
