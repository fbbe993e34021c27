package dev.loupe.interp.tasks;

import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/** How a task scores a run: each builds a {@link Metric} for a list of pairs run as one batch (one row per pair). */
public enum TaskMetric {
    /**
     * Mean over rows of logit[answer] − logit[wrong] at the last position (IOI: IO − S); every pair has one answer
     * and one wrong token.
     */
    LOGIT_DIFF("logit-diff"),
    /**
     * Mean over rows of Σ p(answer tokens) − Σ p(wrong tokens) at the last position, p the softmax over the whole
     * vocabulary (greater-than: Σ p(y > YY) − Σ p(y ≤ YY)).
     */
    PROB_DIFF("prob-diff");

    /** The name the command line uses. */
    public final String cliName;

    TaskMetric(String cliName) {
        this.cliName = cliName;
    }

    /** The metric named {@code name} ({@code logit-diff} or {@code prob-diff}). */
    public static TaskMetric named(String name) {
        for (TaskMetric m : values()) if (m.cliName.equals(name)) return m;
        throw new IllegalArgumentException("unknown metric '" + name + "' (logit-diff, prob-diff)");
    }

    /**
     * The metric of {@code pairs} as one batch: it expects logits [pairs.size(), pos, d_vocab] and returns a scalar
     * []; it reads only the last position.
     *
     * @throws IllegalArgumentException for {@link #LOGIT_DIFF} when a pair has more than one answer or wrong token
     */
    public Metric of(List<TaskPair> pairs) {
        int n = pairs.size();
        if (n == 0) throw new IllegalArgumentException("no pairs to measure");
        if (this == LOGIT_DIFF) {
            int[] answers = new int[n], wrongs = new int[n];
            for (int r = 0; r < n; r++) {
                TaskPair p = pairs.get(r);
                if (p.answerIds().length != 1 || p.wrongIds().length != 1) {
                    throw new IllegalArgumentException("the logit difference needs one answer and one wrong token, but "
                            + "prompt \"" + p.clean() + "\" has " + p.answerIds().length + " and "
                            + p.wrongIds().length + " (use prob-diff)");
                }
                answers[r] = p.answerIds()[0];
                wrongs[r] = p.wrongIds()[0];
            }
            return Metrics.logitDiff(answers, wrongs);
        }
        int[][] plus = new int[n][], minus = new int[n][];
        for (int r = 0; r < n; r++) {
            plus[r] = pairs.get(r).answerIds();
            minus[r] = pairs.get(r).wrongIds();
        }
        return Metrics.lastPosition(logits -> {
            if (logits.rank() != 3 || logits.size(0) != n) {
                throw new IllegalArgumentException("metric expects logits [" + n + ", pos, vocab] but got "
                        + Arrays.toString(logits.shape()));
            }
            int vocab = logits.size(2);
            Tensor last = logits.select(1, logits.size(1) - 1); // [rows, vocab]
            return last.softmax(-1).mul(signs(plus, minus, vocab)).sum(-1).mean();
        });
    }

    /** [rows, vocab]: +1 at each row's answer tokens, −1 at its wrong tokens, 0 elsewhere. */
    private static Tensor signs(int[][] plus, int[][] minus, int vocab) {
        float[] s = new float[plus.length * vocab];
        for (int r = 0; r < plus.length; r++) {
            for (int id : plus[r]) s[r * vocab + inVocab(id, vocab)] += 1;
            for (int id : minus[r]) s[r * vocab + inVocab(id, vocab)] -= 1;
        }
        return Tensor.of(s, plus.length, vocab);
    }

    private static int inVocab(int id, int vocab) {
        if (id < 0 || id >= vocab) {
            throw new IllegalArgumentException("token id " + id + " is outside the model's vocabulary (0.."
                    + (vocab - 1) + ")");
        }
        return id;
    }
}
