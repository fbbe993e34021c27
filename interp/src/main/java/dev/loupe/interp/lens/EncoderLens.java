package dev.loupe.interp.lens;

import dev.loupe.interp.cache.LabeledStack;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.Pooling;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The encoder lens: a sentence encoder's residual stream after each layer, read as if it were the last, through the
 * model's own pooling (and L2 normalisation when the model normalises). The analogue of the {@link LogitLens} for
 * embedding models: how early does a text's embedding take its final direction, and when does it come close to a
 * reference's?
 *
 * <p>Points are {@code hook_full_embed} (the embeddings after their LayerNorm, i.e. what block 0 reads) and each
 * {@code blocks.L.hook_normalized_resid_post}. BERT is post-LayerNorm: the stream a block hands on is its {@code ln2}
 * output, not {@code hook_resid_post} (which is before {@code ln2}); so the last point is exactly the last hidden state
 * and its lensed embedding is the model's embedding.
 */
public final class EncoderLens {
    private final BertModel model;
    private final LabeledStack embeddings; // [point, batch, d_model]

    /**
     * @param model the encoder whose pooling is applied
     * @param mask  the input's mask [batch, pos] (1 for real tokens), which mean and max pooling read
     * @param cache a cache of {@code model} on that input holding {@code hook_full_embed} and every
     *              {@code blocks.L.hook_normalized_resid_post}
     * @throws IllegalArgumentException when a point is missing from the cache or its shape does not match the mask
     */
    public EncoderLens(BertModel model, Tensor mask, ActivationCache cache) {
        this.model = model;
        List<String> labels = points(model);
        Pooling pooling = model.pooling();
        List<Tensor> pooled = new ArrayList<>();
        try (var off = Autograd.noGrad()) {
            for (String name : labels) {
                if (!cache.names().contains(name)) {
                    throw new IllegalArgumentException("the cache has no " + name + " (cache it, e.g. with "
                            + "EncoderLens.of)");
                }
                Tensor resid = cache.get(name).detach(); // [batch, pos, d_model]
                if (resid.rank() != 3 || resid.size(0) != mask.size(0) || resid.size(1) != mask.size(1)) {
                    throw new IllegalArgumentException(name + " is " + Arrays.toString(resid.shape())
                            + " but the mask is " + Arrays.toString(mask.shape()) + " ([batch, pos])");
                }
                Tensor e = pooling.pool(resid, mask);
                pooled.add(pooling.normalize() ? Pooling.l2Normalize(e) : e);
            }
            this.embeddings = new LabeledStack(Tensor.stack(0, pooled.toArray(new Tensor[0])), labels);
        }
    }

    /** Runs {@code model} on {@code input}, caching only the lens's points, and lenses the result. */
    public static EncoderLens of(BertModel model, BertInput input) {
        List<String> names = points(model);
        ActivationCache cache;
        try (var off = Autograd.noGrad()) {
            cache = model.run(input, Hooks.builder().cache(names::contains).build()).cache();
        }
        return new EncoderLens(model, input.mask(), cache);
    }

    /** The points lensed, in order: {@code hook_full_embed}, {@code blocks.0.hook_normalized_resid_post}, ... */
    public static List<String> points(BertModel model) {
        List<String> p = new ArrayList<>(List.of(BertModel.FULL_EMBED));
        for (int l = 0; l < model.config().nLayers(); l++) p.add(HookNames.block(l, "hook_normalized_resid_post"));
        return List.copyOf(p);
    }

    /** The points read, in order (see {@link #points}). */
    public List<String> labels() {
        return embeddings.labels();
    }

    /**
     * The lensed sentence embeddings: [point, batch, d_model], point 0 the embeddings output and point L + 1 the output
     * of block L; the last equals {@link BertModel#embed}.
     */
    public Tensor embeddings() {
        return embeddings.stack();
    }

    /**
     * 1 − cosine similarity between each point's embedding and {@code reference}: [point, batch]. 0 where either
     * vector is zero.
     *
     * @param reference [d_model] (one vector for every row) or [batch, d_model] (one per row)
     * @throws IllegalArgumentException for another shape
     */
    public Tensor cosineDistance(Tensor reference) {
        Tensor e = embeddings.stack(); // [point, batch, d_model]
        int batch = e.size(1), d = e.size(2);
        boolean one = reference.rank() == 1 && reference.size(0) == d;
        boolean perRow = reference.rank() == 2 && reference.size(0) == batch && reference.size(1) == d;
        if (!one && !perRow) {
            throw new IllegalArgumentException("reference must be [d_model] = [" + d + "] or [batch, d_model] = ["
                    + batch + ", " + d + "] but got " + Arrays.toString(reference.shape()));
        }
        try (var off = Autograd.noGrad()) {
            // A zero vector's norm is clamped to eps, so its cosine is 0, as documented.
            return e.cosineSimilarity(reference.detach(), -1, Float.MIN_NORMAL).neg().add(1f);
        }
    }

    /**
     * {@link #cosineDistance(Tensor)} against the model's final embedding of {@code reference}: [point, batch]. A
     * reference of one sequence is compared with every row; otherwise row i with reference row i.
     */
    public Tensor cosineDistance(BertInput reference) {
        Tensor r;
        try (var off = Autograd.noGrad()) {
            r = model.embed(reference); // [refs, d_model]
        }
        return cosineDistance(r.size(0) == 1 ? r.select(0, 0) : r);
    }
}
