package dev.loupe.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.hooks.Hooks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BertInitSaveTest {
    @TempDir
    Path tmp;

    @Test
    void initDrawsMatricesFromNormalWithStd002AndSetsLayerNormsToIdentity() {
        BertConfig c = BertConfig.bert(2, 64, 4, 128, 500, 32);
        BertWeights w = BertWeights.init(c, new Rng(1));
        float[] word = w.wordEmb().toFloatArray();
        double mean = 0, sq = 0;
        for (float x : word) mean += x;
        mean /= word.length;
        for (float x : word) sq += (x - mean) * (x - mean);
        assertEquals(0, mean, 0.001);
        assertEquals(0.02, Math.sqrt(sq / word.length), 0.0005);
        assertArrayEquals(Tensor.ones(64).toFloatArray(), w.blocks().get(1).ln2W().toFloatArray());
        assertArrayEquals(Tensor.zeros(128).toFloatArray(), w.blocks().get(0).bIn().toFloatArray());
        assertTrue(w.tied(), "the MLM decoder is the word embedding, as Hugging Face ties it");
    }

    @Test
    void saveWritesAFolderThatLoadsBackToTheSameWeightsAndLogits() throws IOException {
        BertConfig c = BertConfig.bert(2, 16, 4, 32, 40, 12);
        BertModel m = new BertModel(c, BertWeights.init(c, new Rng(2)), new Pooling(Pooling.Mode.MEAN, false));
        m.save(tmp);
        BertModel back = BertModel.load(tmp);
        assertEquals(c, back.config());
        assertTrue(back.weights().tied());
        Map<String, Tensor> want = m.weights().named(), got = back.weights().named();
        assertEquals(want.keySet(), got.keySet());
        for (String n : want.keySet()) assertArrayEquals(want.get(n).toFloatArray(), got.get(n).toFloatArray(), n);
        BertInput in = BertInput.ofIds(new int[] {2, 5, 9, 3});
        assertArrayEquals(m.runMaskedLm(in, Hooks.none()).logits().toFloatArray(),
                back.runMaskedLm(in, Hooks.none()).logits().toFloatArray());
    }
}
