package dev.loupe.transformer.train;

import dev.loupe.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;

/**
 * Parameters that share a weight decay: the usual split is one group of matrices that decay and one of biases,
 * LayerNorm weights (and often embeddings) that do not.
 *
 * @param params      float32 leaf tensors (on the heap or one device), each a gapless block; updated in place
 * @param weightDecay decoupled weight decay (AdamW) or L2 coefficient (SGD) for this group, ≥ 0
 */
public record ParamGroup(List<Tensor> params, double weightDecay) {
    /** Decay 2-D (and higher) tensors, exempt vectors (biases, LayerNorm weights and biases): GPT-2's usual choice. */
    public static final BiPredicate<String, Tensor> MATRICES = (name, t) -> t.rank() >= 2;

    /** {@link #MATRICES} less the token and position embeddings ({@code wte}, {@code wpe} in Hugging Face names). */
    public static final BiPredicate<String, Tensor> MATRICES_NOT_EMBEDDINGS =
            MATRICES.and((name, t) -> !name.matches("(.*\\.)?w[tp]e\\.weight"));

    public ParamGroup {
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0 but was " + weightDecay);
        params = List.copyOf(params);
    }

    /**
     * Two groups from named parameters (e.g. {@code Gpt2Weights.namedLeaves()}): those {@code decays} accepts, with
     * {@code weightDecay}, then the rest with none. Either group may be empty.
     */
    public static List<ParamGroup> split(Map<String, Tensor> named, BiPredicate<String, Tensor> decays,
                                         double weightDecay) {
        List<Tensor> decayed = new ArrayList<>(), exempt = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : named.entrySet()) {
            (decays.test(e.getKey(), e.getValue()) ? decayed : exempt).add(e.getValue());
        }
        return List.of(new ParamGroup(decayed, weightDecay), new ParamGroup(exempt, 0));
    }
}
