package dev.loupe.interp.ablation;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Ablations are held to models whose weights were edited by hand, and to hand-computed replacements. */
class AblatorTest {
    private static final int D = 16, HEADS = 4, DH = 4, VOCAB = 40;

    private static Gpt2Weights weights() {
        Gpt2Config c = Gpt2Config.gpt2(2, D, HEADS, VOCAB, 12);
        Gpt2Weights w = RandomGpt2.weights(c, 11, 0.25f);
        return w;
    }

    private static final Gpt2Config CONFIG = Gpt2Config.gpt2(2, D, HEADS, VOCAB, 12);
    private static final Gpt2Model MODEL = new Gpt2Model(CONFIG, weights());
    private static final TokenBatch BATCH = TokenBatch.of(new int[] {3, 14, 15, 9, 26, 5}, new int[] {2, 7, 1, 8, 28, 1});
    private static final List<int[]> REFS = List.of(new int[] {1, 2, 3, 4, 5, 6, 7}, new int[] {9, 8, 7},
            new int[] {30, 31, 32, 33, 34, 35});

    /** A copy of the model with {@code edit} applied to a deep copy of its weights. */
    private static Gpt2Model edited(Consumer<Gpt2Weights> edit) {
        Gpt2Weights w = MODEL.weights();
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        for (Gpt2Weights.Block b : w.blocks()) {
            blocks.add(new Gpt2Weights.Block(copy(b.ln1W()), copy(b.ln1B()), copy(b.wQkv()), copy(b.bQkv()),
                    copy(b.wO()), copy(b.bO()), copy(b.ln2W()), copy(b.ln2B()), copy(b.wIn()), copy(b.bIn()),
                    copy(b.wOut()), copy(b.bOut())));
        }
        Tensor wte = copy(w.wte());
        Gpt2Weights c = new Gpt2Weights(HEADS, wte, copy(w.wpe()), blocks, copy(w.lnFinalW()), copy(w.lnFinalB()),
                wte.transpose(0, 1), null);
        edit.accept(c);
        return new Gpt2Model(CONFIG, c);
    }

    private static Tensor copy(Tensor t) {
        return t == null ? null : Tensor.zeros(t.shape()).copyFrom(t);
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol) {
        float[] e = expected.contiguous().toFloatArray(), a = actual.contiguous().toFloatArray();
        assertEquals(e.length, a.length);
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], tol, "element " + i);
    }

    @Test
    void zeroingAHeadEqualsZeroingItsRowsOfWO() {
        Tensor ablated = Ablator.run(MODEL, BATCH, List.of(Ablation.zero(new Target.Head(1, 2, null)))).logits();
        Gpt2Model m = edited(w -> w.blocks().get(1).wO().narrow(0, 2 * DH, DH).fill(0));
        assertClose(m.forward(BATCH), ablated, 1e-5);
        // zeroing the head's pattern zeroes its z the same way
        Tensor viaPattern = Ablator.run(MODEL, BATCH, List.of(Ablation.zero(new Target.Pattern(1, 2, null)))).logits();
        assertClose(ablated, viaPattern, 1e-5);
    }

    @Test
    void severalAblationsRunInOnePassAndEqualTheEditedModel() {
        List<Ablation.Spec> specs = List.of(Ablation.zero(new Target.Head(0, 1, null)),
                Ablation.zero(new Target.Neurons(1, new int[] {5, 17, 40}, null)),
                Ablation.scale(new Target.Head(1, 3, null), 0f));
        Gpt2Model m = edited(w -> {
            w.blocks().get(0).wO().narrow(0, DH, DH).fill(0);
            for (int n : new int[] {5, 17, 40}) w.blocks().get(1).wOut().select(0, n).fill(0);
            w.blocks().get(1).wO().narrow(0, 3 * DH, DH).fill(0);
        });
        assertClose(m.forward(BATCH), Ablator.run(MODEL, BATCH, specs).logits(), 1e-5);
    }

    @Test
    void softAblationScalesAndAlphaOneChangesNothing() {
        Tensor plain = MODEL.forward(BATCH);
        assertClose(plain, Ablator.run(MODEL, BATCH, List.of(Ablation.scale(new Target.Head(0, 0, null), 1f))).logits(), 1e-6);
        Gpt2Model flipped = edited(w -> {
            Tensor rows = w.blocks().get(0).wO().narrow(0, 0, DH);
            rows.copyFrom(Tensor.zeros(rows.shape()).copyFrom(rows).mul(-1));
        });
        assertClose(flipped.forward(BATCH),
                Ablator.run(MODEL, BATCH, List.of(Ablation.scale(new Target.Head(0, 0, null), -1f))).logits(), 1e-5);
    }

    @Test
    void ablatingOnePositionLeavesEarlierPositionsUntouched() {
        Tensor plain = MODEL.forward(BATCH);
        Tensor ablated = Ablator.run(MODEL, BATCH,
                List.of(Ablation.zero(new Target.Stream(HookNames.residPre(1), new int[] {3})))).logits();
        assertClose(plain.narrow(1, 0, 3), ablated.narrow(1, 0, 3), 1e-6); // JIT-compiled kernels may round differently
        assertNotEquals(plain.get(0, 3, 0), ablated.get(0, 3, 0));
    }

    @Test
    void meanAblationAveragesTheReferencesThatReachEachPosition() {
        String point = HookNames.residPre(1);
        Hooks hooks = Ablator.addTo(Hooks.builder().cache(n -> n.equals(point)), MODEL, BATCH,
                List.of(Ablation.mean(new Target.Stream(point, null), REFS))).build();
        Tensor seen = MODEL.run(BATCH, hooks).cache().get(point); // cached after the ablation hook ran
        List<Tensor> refActs = new ArrayList<>();
        for (int[] r : REFS) refActs.add(MODEL.run(TokenBatch.of(r), Hooks.cacheAll()).cache().get(point));
        for (int p = 0; p < BATCH.length(); p++) {
            for (int i = 0; i < D; i++) {
                double sum = 0;
                int n = 0;
                for (Tensor a : refActs) {
                    if (a.size(1) > p) {
                        sum += a.get(0, p, i);
                        n++;
                    }
                }
                assertEquals(sum / n, seen.get(1, p, i), 1e-5, "pos " + p);
            }
        }
        List<int[]> shortRefs = List.of(new int[] {1, 2});
        assertThrows(IllegalArgumentException.class, () -> Ablator.run(MODEL, BATCH,
                List.of(Ablation.mean(new Target.Stream(point, new int[] {4}), shortRefs))));
    }

    @Test
    void resampleDrawsOneLongEnoughReferencePerRowReproducibly() {
        String point = HookNames.mlp(0, "hook_post");
        Target t = new Target.Neurons(0, new int[] {2, 9}, new int[] {0, 4});
        Hooks hooks = Ablator.addTo(Hooks.builder().cache(n -> n.equals(point)), MODEL, BATCH,
                List.of(Ablation.resample(t, REFS, 42))).build();
        Tensor a = MODEL.run(BATCH, hooks).cache().get(point);
        Tensor b = MODEL.run(BATCH, Ablator.addTo(Hooks.builder().cache(n -> n.equals(point)), MODEL, BATCH,
                List.of(Ablation.resample(t, REFS, 42))).build()).cache().get(point);
        assertClose(a, b, 1e-6);
        List<Tensor> refActs = new ArrayList<>();
        for (int[] r : REFS) refActs.add(MODEL.run(TokenBatch.of(r), Hooks.cacheAll()).cache().get(point));
        for (int row = 0; row < 2; row++) {
            boolean matched = false;
            for (int k = 0; k < REFS.size(); k++) {
                if (REFS.get(k).length < 5) continue; // the short reference cannot supply position 4
                Tensor ref = refActs.get(k);
                matched |= Math.abs(ref.get(0, 0, 2) - a.get(row, 0, 2)) < 1e-6 && Math.abs(ref.get(0, 4, 9) - a.get(row, 4, 9)) < 1e-6;
            }
            assertTrue(matched, "row " + row + " took its values from an eligible reference");
        }
    }

    @Test
    void explicitNeuronValuesLandOnTheirNeurons() {
        String point = HookNames.mlp(1, "hook_post");
        Target t = new Target.Neurons(1, new int[] {3, 60}, null);
        Hooks hooks = Ablator.addTo(Hooks.builder().cache(n -> n.equals(point)), MODEL, BATCH,
                List.of(Ablation.values(t, Tensor.of(new float[] {2.5f, -1f}, 2)))).build();
        Tensor seen = MODEL.run(BATCH, hooks).cache().get(point);
        Tensor plain = MODEL.run(BATCH, Hooks.cacheAll()).cache().get(point);
        assertEquals(2.5f, seen.get(1, 4, 3));
        assertEquals(-1f, seen.get(0, 2, 60));
        assertEquals(plain.get(0, 2, 61), seen.get(0, 2, 61));
        assertThrows(IllegalArgumentException.class, () -> Ablator.run(MODEL, BATCH,
                List.of(Ablation.zero(new Target.Head(0, HEADS, null)))));
    }
}
