package dev.loupe.interp.tasks;

import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.PromptPairs;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The prompt pairs of one task and how the task is scored. Pairs of one dataset may differ in token length (IOI
 * templates do); {@link #byLength()} splits them into groups that batch without padding.
 *
 * @param task   the task's name, e.g. {@code "ioi"}
 * @param metric how the task is scored
 * @param pairs  the pairs, each of one token length
 */
public record TaskDataset(String task, TaskMetric metric, List<TaskPair> pairs) {
    public TaskDataset {
        pairs = List.copyOf(pairs);
        if (pairs.isEmpty()) throw new IllegalArgumentException("task " + task + " has no pairs");
    }

    /**
     * A user-given dataset scored by the logit difference: one answer and one wrong text per pair.
     *
     * @throws IllegalArgumentException quoting the first prompt whose pair differs in token length or whose answer is
     *                                  not one token (nothing is skipped)
     */
    public static TaskDataset fromText(Gpt2Tokenizer tokenizer, List<String> clean, List<String> corrupted,
                                       List<String> answers, List<String> wrongs) {
        int n = clean.size();
        if (corrupted.size() != n || answers.size() != n || wrongs.size() != n) {
            throw new IllegalArgumentException("need as many corrupted prompts, answers and wrong answers as clean "
                    + "prompts (" + n + "), got " + corrupted.size() + ", " + answers.size() + ", " + wrongs.size());
        }
        List<TaskPair> pairs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pairs.add(TaskPair.of(tokenizer, clean.get(i), corrupted.get(i), answers.get(i), wrongs.get(i)));
        }
        return new TaskDataset("custom", TaskMetric.LOGIT_DIFF, pairs);
    }

    /** How many pairs. */
    public int size() {
        return pairs.size();
    }

    /** The task's metric for all pairs as one batch (logits [size, pos, d_vocab] → scalar []). */
    public Metric measure() {
        return metric.of(pairs);
    }

    /** The one token length every pair has; an error naming two prompts of different lengths otherwise. */
    public int tokenLength() {
        TaskPair first = pairs.get(0);
        for (TaskPair p : pairs) {
            if (p.length() != first.length()) {
                throw new IllegalArgumentException("prompt \"" + p.clean() + "\" is " + p.length() + " tokens but \""
                        + first.clean() + "\" is " + first.length() + ": one batch needs one token length (split the "
                        + "dataset with byLength())");
            }
        }
        return first.length();
    }

    /** The clean prompts as one batch [size, pos] (all pairs must share one token length). */
    public TokenBatch clean() {
        tokenLength();
        return TokenBatch.of(pairs.stream().map(TaskPair::cleanIds).toArray(int[][]::new));
    }

    /** The corrupted prompts as one batch [size, pos] (all pairs must share one token length). */
    public TokenBatch corrupted() {
        tokenLength();
        return TokenBatch.of(pairs.stream().map(TaskPair::corruptedIds).toArray(int[][]::new));
    }

    /** The pairs grouped by token length, shortest first, each group in the dataset's order. */
    public List<TaskDataset> byLength() {
        Map<Integer, List<TaskPair>> groups = new TreeMap<>();
        for (TaskPair p : pairs) groups.computeIfAbsent(p.length(), k -> new ArrayList<>()).add(p);
        return groups.values().stream().map(g -> new TaskDataset(task, metric, g)).toList();
    }

    /** The largest group of {@link #byLength()} (the shortest length among equally large groups). */
    public TaskDataset largestLengthGroup() {
        return byLength().stream().max(Comparator.comparingInt(TaskDataset::size)
                .thenComparing(d -> -d.pairs.get(0).length())).orElseThrow();
    }

    /** The same dataset scored by another metric (e.g. a logit difference as a probability difference). */
    public TaskDataset withMetric(TaskMetric other) {
        return new TaskDataset(task, other, pairs);
    }

    /**
     * The pairs as {@link PromptPairs}, for the activation-patching sweeps ({@link TaskMetric#LOGIT_DIFF} only,
     * one token length).
     */
    public PromptPairs promptPairs() {
        if (metric != TaskMetric.LOGIT_DIFF) {
            throw new IllegalArgumentException("task " + task + " is scored by " + metric.cliName
                    + "; PromptPairs carry one answer and one wrong token");
        }
        tokenLength();
        int[] answers = pairs.stream().mapToInt(p -> p.answerIds()[0]).toArray();
        int[] wrongs = pairs.stream().mapToInt(p -> p.wrongIds()[0]).toArray();
        return PromptPairs.of(pairs.stream().map(TaskPair::cleanIds).toList(),
                pairs.stream().map(TaskPair::corruptedIds).toList(), answers, wrongs);
    }

    /**
     * Draws candidates until {@code n} pass the pair checks (skipping those that fail, e.g. a name that is two tokens
     * under this tokenizer).
     *
     * @throws IllegalStateException when fewer than {@code n} candidates pass in 100·n + 1000 draws
     */
    static List<TaskPair> draw(String task, int n, java.util.function.Supplier<TaskPair> candidate) {
        if (n < 1) throw new IllegalArgumentException("n must be >= 1, got " + n);
        List<TaskPair> out = new ArrayList<>();
        String lastError = "";
        for (int tries = 0; out.size() < n; tries++) {
            if (tries >= 100 * n + 1000) {
                throw new IllegalStateException("task " + task + ": only " + out.size() + " of " + n + " candidate "
                        + "pairs passed the checks under this tokenizer; last failure: " + lastError);
            }
            try {
                out.add(candidate.get());
            } catch (IllegalArgumentException e) {
                lastError = e.getMessage();
            }
        }
        return out;
    }
}
