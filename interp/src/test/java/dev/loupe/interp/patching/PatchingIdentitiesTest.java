package dev.loupe.interp.patching;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loupe.interp.ablation.Ablation;
import dev.loupe.interp.ablation.Ablator;
import dev.loupe.interp.ablation.Target;
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
import org.junit.jupiter.api.Test;

/**
 * The identities patching must satisfy on any model: writing every clean component into the corrupted run gives the
 * clean logits (the residual stream is the sum of its components), and writing the target's own activations changes
 * nothing, in every cell of every sweep.
 */
class PatchingIdentitiesTest {
    private static final int LAYERS = 2, HEADS = 4;
    private static final Gpt2Model MODEL;

    static {
        Gpt2Config c = Gpt2Config.gpt2(LAYERS, 16, HEADS, 40, 12);
        Gpt2Weights w = RandomGpt2.weights(c, 11, 0.3f);
        MODEL = new Gpt2Model(c, w);
    }

    private static final TokenBatch CLEAN = TokenBatch.of(new int[] {4, 9, 13, 21, 7}, new int[] {8, 1, 30, 2, 6});
    private static final TokenBatch CORRUPT = TokenBatch.of(new int[] {5, 9, 35, 21, 7}, new int[] {8, 1, 11, 2, 0});
    private static final Metric METRIC = Metrics.logitDiff(new int[] {3, 5}, new int[] {17, 23});

    private static void assertClose(Tensor expected, Tensor actual, double tol) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        assertEquals(e.length, a.length);
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], tol * Math.max(1, Math.abs(e[i])), "at " + i);
    }

    @Test
    void patchingEveryCleanComponentReproducesTheCleanLogits() {
        ActivationCache clean = MODEL.run(CLEAN, Hooks.cacheAll()).cache();
        List<Ablation.Spec> specs = new ArrayList<>();
        // The residual stream is embed + pos_embed + Σ heads' z·W_O + b_O + Σ mlp_out: patch each term.
        for (String p : List.of(HookNames.EMBED, HookNames.POS_EMBED)) {
            specs.add(Ablation.values(new Target.Stream(p, null), clean.get(p)));
        }
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                specs.add(Ablation.values(new Target.Head(l, h, null), clean.get(HookNames.attn(l, "hook_z"))));
            }
            specs.add(Ablation.values(new Target.Stream(HookNames.mlpOut(l), null), clean.get(HookNames.mlpOut(l))));
        }
        assertClose(MODEL.forward(CLEAN), Ablator.run(MODEL, CORRUPT, specs).logits(), 1e-5);
        // the last residual, patched at the last position, decides the last logits: the incremental path enters at
        // the last block and must give the clean value
        Tensor grid = IncrementalPatching.streamByPosition(MODEL, CORRUPT, clean, ActivationPatching.Stream.RESID_POST,
                METRIC);
        float cleanValue = ActivationPatching.baseline(MODEL, CLEAN, METRIC);
        assertEquals(cleanValue, grid.get(LAYERS - 1, 4), 1e-4);
    }

    @Test
    void patchingTheTargetsOwnActivationsChangesNothing() {
        ActivationCache own = MODEL.run(CORRUPT, Hooks.cacheAll()).cache();
        float corrupted = ActivationPatching.baseline(MODEL, CORRUPT, METRIC);
        List<Tensor> grids = new ArrayList<>();
        for (ActivationPatching.Stream s : ActivationPatching.Stream.values()) {
            grids.add(ActivationPatching.streamByPosition(MODEL, CORRUPT, own, s, METRIC));
            grids.add(IncrementalPatching.streamByPosition(MODEL, CORRUPT, own, s, METRIC));
        }
        for (ActivationPatching.HeadPoint p : ActivationPatching.HeadPoint.values()) {
            grids.add(ActivationPatching.heads(MODEL, CORRUPT, own, p, METRIC));
            grids.add(IncrementalPatching.headsByPosition(MODEL, CORRUPT, own, p, METRIC));
        }
        for (Tensor g : grids) {
            for (float v : g.toFloatArray()) assertEquals(corrupted, v, 1e-5);
        }
    }
}
