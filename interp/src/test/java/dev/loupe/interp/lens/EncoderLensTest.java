package dev.loupe.interp.lens;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertConfig;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.BertWeights;
import dev.loupe.transformer.bert.Pooling;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.transformer.tokenizer.WordPieceTokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EncoderLensTest {
    private static final BertConfig CONFIG = BertConfig.bert(3, 16, 4, 32, 50, 16);
    /** Two rows of different lengths, so mean pooling has to skip the padding of the second. */
    private static final BertInput INPUT = BertInput.ofIds(new int[] {1, 7, 9, 23, 41, 2}, new int[] {1, 30, 2});

    private static BertModel model(Pooling pooling) {
        return new BertModel(CONFIG, BertWeights.init(CONFIG, new Rng(11)), pooling);
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape());
        float[] e = expected.contiguous().toFloatArray(), a = actual.contiguous().toFloatArray();
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], tol, "element " + i);
    }

    @Test
    void lastPointIsTheModelsEmbeddingForEveryPooling() {
        for (Pooling p : List.of(new Pooling(Pooling.Mode.MEAN, true), new Pooling(Pooling.Mode.CLS, false),
                new Pooling(Pooling.Mode.MAX, true))) {
            BertModel m = model(p);
            EncoderLens lens = EncoderLens.of(m, INPUT);
            assertEquals(List.of("hook_full_embed", "blocks.0.hook_normalized_resid_post",
                    "blocks.1.hook_normalized_resid_post", "blocks.2.hook_normalized_resid_post"), lens.labels());
            assertArrayEquals(new int[] {4, 2, 16}, lens.embeddings().shape());
            assertClose(m.embed(INPUT), lens.embeddings().select(0, 3), 1e-5);
        }
    }

    /** Mean-pooled, normalised embedding of one cached point and row, and 1 − cos against {@code ref}, in double. */
    private static double handDistance(Tensor resid, Tensor mask, int row, float[] ref) {
        int pos = resid.size(1), d = resid.size(2);
        float[] x = resid.contiguous().toFloatArray(), mk = mask.toFloatArray();
        double[] mean = new double[d];
        double n = 0;
        for (int p = 0; p < pos; p++) {
            if (mk[row * pos + p] == 0) continue;
            n++;
            for (int j = 0; j < d; j++) mean[j] += x[(row * pos + p) * d + j];
        }
        double norm = 0, dot = 0, refNorm = 0;
        for (int j = 0; j < d; j++) norm += (mean[j] / n) * (mean[j] / n);
        for (int j = 0; j < d; j++) {
            double e = mean[j] / n / Math.sqrt(norm); // the lens normalises like the model; cos is scale-free anyway
            dot += e * ref[j];
            refNorm += (double) ref[j] * ref[j];
        }
        return 1 - dot / Math.sqrt(refNorm); // |e| = 1
    }

    @Test
    void cosineDistancesMatchADoublePrecisionComputationFromTheCache() {
        BertModel m = model(new Pooling(Pooling.Mode.MEAN, true));
        ActivationCache cache = m.run(INPUT, Hooks.cacheAll()).cache();
        EncoderLens lens = new EncoderLens(m, INPUT.mask(), cache);
        BertInput refText = BertInput.ofIds(new int[] {1, 12, 13, 2});
        float[] ref = m.embed(refText).select(0, 0).toFloatArray();
        float[] other = Tensor.randn(new Rng(5), 16).toFloatArray(); // any vector, not unit length

        Tensor toText = lens.cosineDistance(refText), toVector = lens.cosineDistance(Tensor.of(other, 16));
        assertArrayEquals(new int[] {4, 2}, toText.shape());
        for (int point = 0; point < 4; point++) {
            Tensor resid = cache.get(lens.labels().get(point));
            for (int row = 0; row < 2; row++) {
                assertEquals(handDistance(resid, INPUT.mask(), row, ref), toText.get(point, row), 1e-5);
                assertEquals(handDistance(resid, INPUT.mask(), row, other), toVector.get(point, row), 1e-5);
            }
        }
        // One reference per row: row i against reference row i.
        Tensor perRow = Tensor.stack(0, Tensor.of(ref, 16), Tensor.of(other, 16));
        Tensor d = lens.cosineDistance(perRow);
        for (int point = 0; point < 4; point++) {
            assertEquals(toText.get(point, 0), d.get(point, 0), 1e-7);
            assertEquals(toVector.get(point, 1), d.get(point, 1), 1e-7);
        }
    }

    @Test
    void rejectsAMissingPointAndAReferenceOfTheWrongWidth() {
        BertModel m = model(new Pooling(Pooling.Mode.MEAN, true));
        ActivationCache partial = m.run(INPUT, Hooks.builder().cache("hook_full_embed").build()).cache();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EncoderLens(m, INPUT.mask(), partial));
        assertTrue(e.getMessage().contains("blocks.0.hook_normalized_resid_post"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EncoderLens.of(m, INPUT).cosineDistance(Tensor.zeros(8)));
        assertTrue(e.getMessage().contains("[16]"), e.getMessage());
    }

    @Test
    void miniLmLensEndsAtItsEmbeddingAndSeparatesAParaphraseFromAnUnrelatedText() throws IOException {
        BertModel m = BertModel.builtIn("minilm");
        WordPieceTokenizer tok = dev.loupe.transformer.bert.BuiltIn.MINILM.tokenizer();
        List<Encoding> enc = new ArrayList<>();
        for (String t : List.of("A kitten is sleeping on the rug.", "Interest rates rose again this quarter.")) {
            enc.add(tok.encode(t));
        }
        BertInput input = BertInput.of(enc);
        EncoderLens lens = EncoderLens.of(m, input);
        assertClose(m.embed(input), lens.embeddings().select(0, 6), 1e-5);
        Tensor d = lens.cosineDistance(BertInput.of(List.of(tok.encode("A cat naps on a carpet."))));
        assertArrayEquals(new int[] {7, 2}, d.shape());
        // The paraphrase ends much closer to the reference than the unrelated sentence does.
        assertTrue(d.get(6, 0) + 0.3 < d.get(6, 1), d.get(6, 0) + " vs " + d.get(6, 1));
    }
}
