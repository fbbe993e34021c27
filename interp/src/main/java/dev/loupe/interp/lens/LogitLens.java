package dev.loupe.interp.lens;

import dev.loupe.interp.cache.CacheAnalysis;
import dev.loupe.interp.cache.LabeledStack;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import java.util.List;

/**
 * The logit lens (nostalgebraist, 2020): the residual stream after each layer, read as if it were the last, through
 * the model's own final LayerNorm (with each residual's own statistics, as the model would normalise it) and
 * unembedding. The last point, {@code final_post}, gives exactly the model's logits.
 *
 * <p>Points are {@code 0_pre, [0_mid,] 1_pre, ..., final_post}: {@code L_pre} is the stream before layer L (so
 * {@code 0_pre} is the embeddings alone).
 */
public final class LogitLens {
    private final LabeledStack resid;
    private final Tensor logits; // [point, batch, pos, vocab]

    /**
     * @param cache a cache of {@code model} holding every {@code hook_resid_pre} (and {@code hook_resid_mid} with
     *              {@code includeMid}) and the last {@code hook_resid_post}
     */
    public LogitLens(Gpt2Model model, ActivationCache cache, boolean includeMid) {
        this.resid = new CacheAnalysis(model, cache).accumulatedResid(model.config().nLayers(), includeMid, false);
        Gpt2Weights w = model.weights();
        try (var off = Autograd.noGrad()) {
            this.logits = model.unembed(resid.stack().layerNorm(w.lnFinalW(), w.lnFinalB(), model.config().lnEps()));
        }
    }

    /** The points read, in order: {@code 0_pre, ..., final_post}. */
    public List<String> labels() {
        return resid.labels();
    }

    /** Logits at every point: [point, batch, pos, d_vocab]. */
    public Tensor logits() {
        return logits;
    }

    /** Log-probabilities at every point: [point, batch, pos, d_vocab]. */
    public Tensor logProbs() {
        return logits.logSoftmax(-1);
    }

    /** Probabilities at every point: [point, batch, pos, d_vocab]. */
    public Tensor probs() {
        return logits.softmax(-1);
    }

    /** The {@code k} most likely tokens at every point: values (logits) and ids, each [point, batch, pos, k]. */
    public Tensor.TopK topK(int k) {
        return logits.topK(k, -1, true);
    }

    /** Logit of {@code token} at every point: [point, batch, pos]. */
    public Tensor tokenLogit(int token) {
        return logits.select(-1, checkToken(token));
    }

    /** Probability of {@code token} at every point: [point, batch, pos]. */
    public Tensor tokenProb(int token) {
        return probs().select(-1, checkToken(token));
    }

    /** Logit of {@code token} minus logit of {@code other} at every point: [point, batch, pos]. */
    public Tensor logitDiff(int token, int other) {
        return tokenLogit(token).sub(tokenLogit(other));
    }

    private int checkToken(int token) {
        int v = logits.size(-1);
        if (token < 0 || token >= v) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary (0.." + (v - 1) + ")");
        }
        return token;
    }
}
