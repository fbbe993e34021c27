package dev.loupe.interp.patching;

import dev.loupe.tensor.Tensor;

/** The metrics patching experiments use. Each reads the last position unless stated, and averages over the batch. */
public final class Metrics {
    private Metrics() {
    }

    /** Mean over rows of logit[correct[row]] − logit[wrong[row]] at the last position. */
    public static Metric logitDiff(int[] correct, int[] wrong) {
        if (correct.length != wrong.length) {
            throw new IllegalArgumentException(correct.length + " correct tokens but " + wrong.length + " wrong ones");
        }
        return lastPosition(logits -> last(logits, correct.length).gather(1, column(correct))
                .sub(last(logits, wrong.length).gather(1, column(wrong))).mean());
    }

    /** Mean over rows of log p(token[row]) at the last position. */
    public static Metric logProb(int[] tokens) {
        return lastPosition(logits -> last(logits, tokens.length).logSoftmax(-1).gather(1, column(tokens)).mean());
    }

    /** Mean over rows of p(token[row]) at the last position. */
    public static Metric prob(int[] tokens) {
        return lastPosition(logits -> last(logits, tokens.length).softmax(-1).gather(1, column(tokens)).mean());
    }

    /**
     * Mean over rows of KL(clean ‖ run) between next-token distributions at the last position.
     *
     * @param cleanLogits [batch, pos, d_vocab] of the clean run
     */
    public static Metric klFromClean(Tensor cleanLogits) {
        Tensor cleanLogP = cleanLogits.select(1, cleanLogits.size(1) - 1).logSoftmax(-1).detach(); // [batch, vocab]
        Tensor cleanP = cleanLogP.exp();
        return lastPosition(logits -> cleanP.mul(cleanLogP.sub(last(logits, cleanP.size(0)).logSoftmax(-1))).sum(-1)
                .mean());
    }

    /**
     * (metric − corrupted) / (clean − corrupted): 0 at the corrupted run's value, 1 at the clean run's — the usual
     * normalised patching score.
     */
    public static Metric normalized(Metric metric, float clean, float corrupted) {
        float span = clean - corrupted;
        if (span == 0 || !Float.isFinite(span)) {
            throw new IllegalArgumentException("clean and corrupted metric values must differ (both " + clean + ")");
        }
        Metric m = logits -> metric.apply(logits).sub(corrupted).div(span);
        return metric.readsLastPositionOnly() ? lastPosition(m) : m;
    }

    /**
     * {@code metric}, declared to read only the last position of its logits (it must then give the same value for
     * logits [batch, 1, d_vocab] of that position alone), which lets incremental sweeps unembed one position.
     */
    public static Metric lastPosition(Metric metric) {
        return new Metric() {
            @Override
            public Tensor apply(Tensor logits) {
                return metric.apply(logits);
            }

            @Override
            public boolean readsLastPositionOnly() {
                return true;
            }
        };
    }

    /** logits [batch, pos, vocab] → [batch, vocab] at the last position, checking the batch. */
    private static Tensor last(Tensor logits, int rows) {
        if (logits.rank() != 3 || logits.size(0) != rows) {
            throw new IllegalArgumentException("metric expects logits [" + rows + ", pos, vocab] but got "
                    + java.util.Arrays.toString(logits.shape()));
        }
        return logits.select(1, logits.size(1) - 1);
    }

    /** ids → index tensor [n, 1] for gather along the vocabulary. */
    private static Tensor column(int[] ids) {
        return Tensor.indices(ids).unsqueeze(1);
    }
}
