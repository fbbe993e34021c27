package dev.loupe.interp.lens;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogitLensTest {
    private static Gpt2Model model() {
        Gpt2Config c = Gpt2Config.gpt2(2, 16, 2, 30, 8);
        Gpt2Weights w = RandomGpt2.weights(c, 3, 0.2f);
        return new Gpt2Model(c, w);
    }

    private static final Gpt2Model MODEL = model();
    private static final TokenBatch BATCH = TokenBatch.of(new int[] {4, 8, 15, 16, 23});
    private static final Gpt2Model.Output RUN = MODEL.run(BATCH, Hooks.cacheAll());

    @Test
    void lastPointIsTheModelsLogitsAndEarlierPointsUnembedTheirResidual() {
        LogitLens lens = new LogitLens(MODEL, RUN.cache(), true);
        assertEquals(List.of("0_pre", "0_mid", "1_pre", "1_mid", "final_post"), lens.labels());
        float[] expected = RUN.logits().toFloatArray(), last = lens.logits().select(0, 4).contiguous().toFloatArray();
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], last[i], 1e-5);

        // 1_pre by hand, in double: LayerNorm with its own statistics, then W_U.
        Tensor r = RUN.cache().get(HookNames.residPre(1));
        Gpt2Weights w = MODEL.weights();
        int d = 16, pos = 3, tok = 11;
        double mean = 0, var = 0;
        for (int i = 0; i < d; i++) mean += r.get(0, pos, i);
        mean /= d;
        for (int i = 0; i < d; i++) var += Math.pow(r.get(0, pos, i) - mean, 2);
        var /= d;
        double logit = 0;
        for (int i = 0; i < d; i++) {
            double n = (r.get(0, pos, i) - mean) / Math.sqrt(var + 1e-5) * w.lnFinalW().get(i) + w.lnFinalB().get(i);
            logit += n * w.wU().get(i, tok);
        }
        assertEquals(logit, lens.tokenLogit(tok).get(2, 0, pos), 1e-4);
    }

    @Test
    void topKDiffsAndProbabilitiesAgree() {
        LogitLens lens = new LogitLens(MODEL, RUN.cache(), false);
        Tensor.TopK top = lens.topK(3);
        assertEquals(List.of(3, 1, 5, 3), List.of(top.indices().shape()[0], top.indices().shape()[1],
                top.indices().shape()[2], top.indices().shape()[3]));
        int best = (int) top.indices().get(1, 0, 2, 0);
        Tensor atPoint = lens.logits().select(0, 1).select(0, 0).select(0, 2);
        for (int v = 0; v < 30; v++) assertEquals(true, atPoint.get(v) <= atPoint.get(best));
        assertEquals(lens.tokenLogit(5).get(2, 0, 1) - lens.tokenLogit(9).get(2, 0, 1),
                lens.logitDiff(5, 9).get(2, 0, 1), 1e-6);
        assertEquals(1.0, lens.probs().select(0, 0).sum(-1).get(0, 4), 1e-5);
        assertThrows(IllegalArgumentException.class, () -> lens.tokenLogit(30));
    }
}
