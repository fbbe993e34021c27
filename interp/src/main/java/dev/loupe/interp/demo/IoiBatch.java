package dev.loupe.interp.demo;

import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Rng;
import dev.loupe.transformer.TokenBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * A batch of IOI prompts of one template (so of one token length) for the IOI demo model, each against its S2-swap
 * corruption (the second mention of S replaced by IO, which turns the answer around), scored by logit(IO) − logit(S)
 * at the last position. What {@link AttributionCheck}, {@link DemoAnalysis} and {@code loupe edge-attribution --demo}
 * patch.
 *
 * @param prompts   the clean prompts, one per row
 * @param clean     model ids [batch, pos], BOS first
 * @param corrupted the S2-swapped prompts' ids, the same shape
 * @param io        per row the model id of the indirect object's name (the answer)
 * @param s         per row the model id of the subject's name (the wrong answer)
 */
public record IoiBatch(List<IoiCorpus.Prompt> prompts, TokenBatch clean, TokenBatch corrupted, int[] io, int[] s) {
    public IoiBatch {
        prompts = List.copyOf(prompts);
        io = io.clone();
        s = s.clone();
    }

    /**
     * {@code n} prompts drawn with {@code seed} from the first training template with training names, or with
     * {@code heldOut} from the first held-out template with held-out names.
     */
    public static IoiBatch of(DemoModels.IoiModel m, int n, boolean heldOut, long seed) {
        if (n < 1) throw new IllegalArgumentException("need at least one prompt, got " + n);
        List<IoiCorpus.Prompt> prompts = new ArrayList<>();
        List<int[]> clean = new ArrayList<>(), corrupt = new ArrayList<>();
        int[] io = new int[n], s = new int[n];
        Rng rng = new Rng(seed);
        String template = (heldOut ? IoiCorpus.HELD_OUT_TEMPLATES : IoiCorpus.TRAIN_TEMPLATES).get(0);
        for (int i = 0; i < n; i++) {
            IoiCorpus.Prompt p = IoiCorpus.prompt(rng, template, IoiCorpus.names(heldOut));
            prompts.add(p);
            clean.add(m.encode(p.text()));
            corrupt.add(m.encode(p.s2Swapped()));
            io[i] = m.encode(p.io())[1];
            s[i] = m.encode(p.s())[1];
        }
        return new IoiBatch(prompts, TokenBatch.of(clean.toArray(int[][]::new)),
                TokenBatch.of(corrupt.toArray(int[][]::new)), io, s);
    }

    /** logit(IO) − logit(S) at the last position, averaged over the rows. */
    public Metric metric() {
        return Metrics.logitDiff(io, s);
    }
}
