package dev.loupe.interp.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Detectors on a hand-built two-layer attention-only model whose heads do their job by construction:
 * L0H0 attends to the previous position and copies that token into spare residual dims, L0H1 attends to earlier
 * copies of the current token (not itself), L1H0 matches the current token against the copied previous token
 * (an induction head). Every other head has zero weights, so it attends uniformly.
 */
class HeadDetectorTest {
    private static final int V = 16, CTX = 16, D = 128, HEADS = 4, DH = 32;
    // Residual dims: token one-hot 0..15, position one-hot 16..31, previous token (written by L0H0) 32..47.
    private static final int TOK = 0, POS = 16, PREV = 32;

    private static Gpt2Model handBuilt() {
        Gpt2Config c = Gpt2Config.gpt2(2, D, HEADS, V, CTX).attentionOnly();
        float[] wte = new float[V * D], wpe = new float[CTX * D];
        for (int t = 0; t < V; t++) wte[t * D + TOK + t] = 1;
        for (int p = 0; p < CTX; p++) wpe[p * D + POS + p] = 1;
        float beta = 2;
        float[] qkv0 = new float[D * 3 * D], o0 = new float[D * D];
        for (int p = 1; p < CTX; p++) {
            q(qkv0, 0, POS + p, p - 1, beta); // L0H0 query: "position p − 1"
            k(qkv0, 0, POS + p - 1, p - 1, 1); // key: "I am position p − 1"
        }
        for (int t = 0; t < V; t++) {
            v(qkv0, 0, TOK + t, t, 0.125f);    // value: the key's token (LayerNorm scales a one-hot by about 8)
            o0[(0 * DH + t) * D + PREV + t] = 1; // written to the previous-token dims
            q(qkv0, 1, TOK + t, t, beta);       // L0H1: same token ...
            k(qkv0, 1, TOK + t, t, 1);
        }
        for (int p = 0; p < CTX; p++) {
            q(qkv0, 1, POS + p, V + p, -beta);  // ... but not the current position
            k(qkv0, 1, POS + p, V + p, 1);
        }
        float[] qkv1 = new float[D * 3 * D];
        for (int t = 0; t < V; t++) {
            q(qkv1, 0, TOK + t, t, beta);       // L1H0: my token ...
            k(qkv1, 0, PREV + t, t, 1);         // ... against the token before the key
        }
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        blocks.add(block(qkv0, o0));
        blocks.add(block(qkv1, new float[D * D]));
        Tensor e = Tensor.of(wte, V, D);
        return new Gpt2Model(c, new Gpt2Weights(HEADS, e, Tensor.of(wpe, CTX, D), blocks, Tensor.ones(D),
                Tensor.zeros(D), e.transpose(0, 1), null));
    }

    private static Gpt2Weights.Block block(float[] qkv, float[] o) {
        return new Gpt2Weights.Block(Tensor.ones(D), Tensor.zeros(D), Tensor.of(qkv, D, 3 * D), Tensor.zeros(3 * D),
                Tensor.of(o, D, D), Tensor.zeros(D), null, null, null, null, null, null);
    }

    private static void q(float[] w, int head, int in, int e, float x) {
        w[in * 3 * D + head * DH + e] = x;
    }

    private static void k(float[] w, int head, int in, int e, float x) {
        w[in * 3 * D + D + head * DH + e] = x;
    }

    private static void v(float[] w, int head, int in, int e, float x) {
        w[in * 3 * D + 2 * D + head * DH + e] = x;
    }

    private static TokenBatch repeated() {
        // BOS = 0; tokens 1..15 without repeats inside a half, so every target is unambiguous.
        int[][] rows = new int[4][15];
        Rng rng = new Rng(5);
        for (int[] row : rows) {
            List<Integer> pool = new ArrayList<>();
            for (int t = 1; t < V; t++) pool.add(t);
            for (int i = 0; i < 7; i++) row[1 + i] = row[8 + i] = pool.remove(rng.nextInt(pool.size()));
        }
        return TokenBatch.of(rows);
    }

    private static void assertOnlyHeadScoresHigh(Tensor scores, int layer, int head) {
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < HEADS; h++) {
                float s = scores.get(l, h);
                if (l == layer && h == head) assertTrue(s > 0.9, "L" + l + "H" + h + " scored " + s);
                else assertTrue(s < 0.5, "L" + l + "H" + h + " scored " + s);
            }
        }
    }

    @Test
    void eachDetectorFindsTheHeadBuiltForIt() {
        Gpt2Model m = handBuilt();
        TokenBatch prompts = repeated();
        assertOnlyHeadScoresHigh(HeadDetector.previousToken(m, prompts), 0, 0);
        assertOnlyHeadScoresHigh(HeadDetector.duplicateToken(m, prompts), 0, 1);
        assertOnlyHeadScoresHigh(HeadDetector.induction(m, prompts, 1), 1, 0);
        assertOnlyHeadScoresHigh(HeadDetector.prefixMatching(m, prompts, 7), 1, 0);
    }

    @Test
    void transformerLensMeasuresOfAUniformHeadMatchTheirClosedForm() {
        Gpt2Model m = handBuilt();
        TokenBatch prompts = repeated();
        int n = prompts.length();
        // L1H3 has zero weights: A[i, j] = 1 / (i + 1) for j <= i. Reference: previous token, D[i, i − 1] = 1.
        double mul = 0, abs = 0;
        for (int i = 1; i < n; i++) mul += 1.0 / (i + 1);
        mul /= n; // Σ A·D / Σ A with Σ A = n rows
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) abs += Math.abs(1.0 / (i + 1) - (j == i - 1 ? 1 : 0));
        }
        abs = 1 - abs / n;
        Tensor sMul = HeadDetector.score(m, prompts, DetectionPatterns::previousToken, HeadDetector.Measure.MUL,
                false, false);
        Tensor sAbs = HeadDetector.score(m, prompts, DetectionPatterns::previousToken, HeadDetector.Measure.ABS,
                false, false);
        assertEquals(mul, sMul.get(1, 3), 1e-5);
        assertEquals(abs, sAbs.get(1, 3), 1e-5);
        // The built previous-token head matches its reference almost exactly under ABS once BOS is excluded.
        Tensor exact = HeadDetector.score(m, prompts, DetectionPatterns::previousToken, HeadDetector.Measure.ABS,
                true, false);
        assertTrue(exact.get(0, 0) > 0.95, "L0H0 abs score " + exact.get(0, 0));
    }

    @Test
    void inductionOffsetZeroIsTheDuplicatePattern() {
        int[] t = {0, 3, 4, 3, 4};
        assertEquals(DetectionPatterns.duplicateToken(t).toString(), DetectionPatterns.induction(t, 0).toString());
        Tensor ind = DetectionPatterns.induction(t, 1);
        assertEquals(1f, ind.get(3, 2));
        assertEquals(1f, ind.get(4, 3));
        assertEquals(0f, ind.sum().item() - 2);
    }
}
