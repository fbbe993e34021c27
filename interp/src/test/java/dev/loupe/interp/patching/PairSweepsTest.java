package dev.loupe.interp.patching;

import dev.loupe.interp.RandomGpt2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A batched dataset sweep must give, for every pair, what the direct sweep gives that pair alone, and the mean and
 * spread of those values.
 */
class PairSweepsTest {
    private static final Gpt2Model MODEL;

    static {
        Gpt2Config c = Gpt2Config.gpt2(2, 16, 4, 40, 12);
        Gpt2Weights w = RandomGpt2.weights(c, 21, 0.3f);
        MODEL = new Gpt2Model(c, w);
    }

    private static final List<int[]> CLEAN = List.of(new int[] {4, 9, 13, 21, 7}, new int[] {8, 1, 30, 2, 6},
            new int[] {3, 3, 12, 5, 19});
    private static final List<int[]> CORRUPT = List.of(new int[] {4, 9, 35, 21, 7}, new int[] {8, 1, 11, 2, 6},
            new int[] {3, 3, 12, 25, 19});
    private static final int[] ANSWERS = {3, 5, 7}, WRONGS = {17, 23, 2};

    @Test
    void eachPairGetsWhatItsOwnDirectSweepGivesAndTheMeanAndSpreadOfThose() {
        PromptPairs pairs = PromptPairs.of(CLEAN, CORRUPT, ANSWERS, WRONGS);
        for (PairSweeps.Direction dir : PairSweeps.Direction.values()) {
            PairSweeps.Result r = PairSweeps.streamByPosition(MODEL, pairs, ActivationPatching.Stream.RESID_PRE, dir);
            assertEquals(List.of("layer", "pos"), r.dims());
            assertArrayEquals(new int[] {3, 2, 5}, r.perPrompt().shape());
            double[] sum = new double[10], sq = new double[10];
            for (int i = 0; i < 3; i++) {
                boolean denoise = dir == PairSweeps.Direction.DENOISE;
                TokenBatch target = TokenBatch.of(denoise ? CORRUPT.get(i) : CLEAN.get(i));
                TokenBatch source = TokenBatch.of(denoise ? CLEAN.get(i) : CORRUPT.get(i));
                Metric m = Metrics.logitDiff(new int[] {ANSWERS[i]}, new int[] {WRONGS[i]});
                float[] alone = ActivationPatching.streamByPosition(MODEL, target,
                        MODEL.run(source, Hooks.cacheAll()).cache(), ActivationPatching.Stream.RESID_PRE, m)
                        .toFloatArray();
                float[] batched = r.perPrompt().select(0, i).contiguous().toFloatArray();
                for (int c = 0; c < 10; c++) {
                    assertEquals(alone[c], batched[c], 1e-5, dir + " pair " + i + " cell " + c);
                    sum[c] += alone[c];
                    sq[c] += (double) alone[c] * alone[c];
                }
                assertEquals(ActivationPatching.baseline(MODEL, TokenBatch.of(CLEAN.get(i)), m), r.clean()[i], 1e-5);
            }
            for (int c = 0; c < 10; c++) {
                double mu = sum[c] / 3;
                assertEquals(mu, r.mean().toFloatArray()[c], 1e-5);
                assertEquals(Math.sqrt(Math.max(0, sq[c] / 3 - mu * mu)), r.std().toFloatArray()[c], 1e-4);
            }
        }
        PairSweeps.Result heads = PairSweeps.heads(MODEL, pairs, ActivationPatching.HeadPoint.OUTPUT, true,
                PairSweeps.Direction.DENOISE);
        assertArrayEquals(new int[] {3, 2, 4, 5}, heads.perPrompt().shape());
        // the corrupted run is 0 and the clean run 1 on the normalised scale: layer 0 at each pair's differing token
        Tensor norm = PairSweeps.streamByPosition(MODEL, pairs, ActivationPatching.Stream.RESID_PRE,
                PairSweeps.Direction.DENOISE).normalizedPerPrompt();
        assertEquals(1, norm.get(0, 0, 2), 1e-4);
        assertEquals(1, norm.get(2, 0, 3), 1e-4);
        assertEquals(0, norm.get(2, 0, 0), 1e-4);
    }

    @Test
    void promptsOfAnotherLengthAreNamedInTheError() {
        List<int[]> bad = List.of(new int[] {4, 9, 35, 21, 7}, new int[] {8, 1, 11, 2});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptPairs.of(CLEAN.subList(0, 2), bad, new int[] {1, 2}, new int[] {3, 4}));
        assertTrue(e.getMessage().contains("corrupted prompt 1 [8, 1, 11, 2] has 4 tokens"), e.getMessage());
        Gpt2Tokenizer tok = Gpt2Tokenizer.r50kBase();
        e = assertThrows(IllegalArgumentException.class, () -> PromptPairs.fromText(tok,
                List.of("When Mary and John went", "When Tom and John went"),
                List.of("When Mary and John went", "When Bartholomew and John went"),
                List.of(" John", " John"), List.of(" Mary", " Tom")));
        assertTrue(e.getMessage().contains("\"When Bartholomew and John went\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PromptPairs.fromText(tok, List.of("a b"),
                List.of("a c"), List.of(" Bartholomew"), List.of(" b")));
        assertTrue(e.getMessage().contains("answer 0 \" Bartholomew\""), e.getMessage());
    }
}
