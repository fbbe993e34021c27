package dev.loupe.interp.patching;

import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A dataset of prompt pairs for patching: clean and corrupted prompts, all of one token length (so they batch without
 * padding and positions line up), and for each pair the answer token and the wrong one its logit difference reads.
 *
 * @param clean     clean prompts [pair, pos]
 * @param corrupted corrupted prompts [pair, pos]
 * @param answers   [pair] the clean prompt's answer token
 * @param wrongs    [pair] the corrupted prompt's answer token
 */
public record PromptPairs(TokenBatch clean, TokenBatch corrupted, int[] answers, int[] wrongs) {
    public PromptPairs {
        int n = clean.batch();
        if (corrupted.batch() != n || answers.length != n || wrongs.length != n) {
            throw new IllegalArgumentException("need as many corrupted prompts, answers and wrong tokens as clean "
                    + "prompts (" + n + "), got " + corrupted.batch() + ", " + answers.length + ", " + wrongs.length);
        }
        if (clean.padded() || corrupted.padded() || clean.length() != corrupted.length()) {
            throw new IllegalArgumentException("prompt pairs must share one token length without padding");
        }
        answers = answers.clone();
        wrongs = wrongs.clone();
    }

    /**
     * Pairs from token ids.
     *
     * @throws IllegalArgumentException naming the first prompt whose length differs from the first clean prompt's
     */
    public static PromptPairs of(List<int[]> clean, List<int[]> corrupted, int[] answers, int[] wrongs) {
        return build(clean, corrupted, answers, wrongs, null, null);
    }

    /**
     * Pairs from text: prompts encoded without a BOS token; each answer and wrong text must be one token (give a
     * leading space where the vocabulary has one, e.g. " Mary").
     *
     * @throws IllegalArgumentException naming the prompt whose token length differs from the first clean prompt's,
     *                                  or the answer that is not one token
     */
    public static PromptPairs fromText(Gpt2Tokenizer tokenizer, List<String> clean, List<String> corrupted,
                                       List<String> answers, List<String> wrongs) {
        List<int[]> c = clean.stream().map(tokenizer::encode).toList();
        List<int[]> k = corrupted.stream().map(tokenizer::encode).toList();
        return build(c, k, singleTokens(tokenizer, answers, "answer"), singleTokens(tokenizer, wrongs, "wrong"), clean,
                corrupted);
    }

    /** How many pairs. */
    public int size() {
        return answers.length;
    }

    /** The logit difference of pair {@code row} alone (logits [1, pos, d_vocab], last position). */
    public Metric logitDiff(int row) {
        return Metrics.logitDiff(new int[] {answers[row]}, new int[] {wrongs[row]});
    }

    @Override
    public int[] answers() {
        return answers.clone();
    }

    @Override
    public int[] wrongs() {
        return wrongs.clone();
    }

    private static PromptPairs build(List<int[]> clean, List<int[]> corrupted, int[] answers, int[] wrongs,
                                     List<String> cleanText, List<String> corruptText) {
        if (clean.isEmpty()) throw new IllegalArgumentException("no prompt pairs");
        if (clean.size() != corrupted.size()) {
            throw new IllegalArgumentException(clean.size() + " clean prompts but " + corrupted.size() + " corrupted");
        }
        int len = clean.get(0).length;
        for (int i = 0; i < clean.size(); i++) {
            check(clean.get(i), len, "clean", i, cleanText);
            check(corrupted.get(i), len, "corrupted", i, corruptText);
        }
        return new PromptPairs(TokenBatch.of(clean.toArray(int[][]::new)),
                TokenBatch.of(corrupted.toArray(int[][]::new)), answers, wrongs);
    }

    private static void check(int[] ids, int len, String kind, int i, List<String> text) {
        if (ids.length == len) return;
        String name = text == null ? Arrays.toString(ids) : "\"" + text.get(i) + "\"";
        throw new IllegalArgumentException(kind + " prompt " + i + " " + name + " has " + ids.length
                + " tokens but clean prompt 0 has " + len + ": every prompt of a dataset needs the same token length");
    }

    private static int[] singleTokens(Gpt2Tokenizer tokenizer, List<String> texts, String what) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            int[] t = tokenizer.encode(texts.get(i));
            if (t.length != 1) {
                throw new IllegalArgumentException(what + " " + i + " \"" + texts.get(i) + "\" is " + t.length
                        + " tokens " + Arrays.toString(t) + ", not one");
            }
            ids.add(t[0]);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
