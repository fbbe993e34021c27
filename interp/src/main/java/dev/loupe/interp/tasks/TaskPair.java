package dev.loupe.interp.tasks;

import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * One clean/corrupted prompt pair of a task, tokenized, with the answer tokens the metric rewards and the wrong
 * tokens it penalises (one each for a logit difference; sets of tokens for a probability difference).
 *
 * @param clean        the clean prompt's text
 * @param corrupted    the corrupted prompt's text
 * @param cleanIds     [pos] the clean prompt's tokens (no BOS)
 * @param corruptedIds [pos] the corrupted prompt's tokens, the same length
 * @param answer       a label for the answer, e.g. {@code " Mary"} or {@code "> 32"}
 * @param wrong        a label for the wrong answer
 * @param answerIds    the tokens counted for the answer (at least one)
 * @param wrongIds     the tokens counted against it (at least one)
 */
public record TaskPair(String clean, String corrupted, int[] cleanIds, int[] corruptedIds, String answer, String wrong,
                       int[] answerIds, int[] wrongIds) {
    public TaskPair {
        if (cleanIds.length == 0) throw new IllegalArgumentException("clean prompt \"" + clean + "\" has no tokens");
        if (cleanIds.length != corruptedIds.length) {
            throw new IllegalArgumentException("clean prompt \"" + clean + "\" is " + cleanIds.length
                    + " tokens but corrupted prompt \"" + corrupted + "\" is " + corruptedIds.length
                    + " tokens: a pair needs one token length");
        }
        if (answerIds.length == 0 || wrongIds.length == 0) {
            throw new IllegalArgumentException("prompt \"" + clean + "\" needs at least one answer and one wrong "
                    + "token");
        }
        cleanIds = cleanIds.clone();
        corruptedIds = corruptedIds.clone();
        answerIds = answerIds.clone();
        wrongIds = wrongIds.clone();
    }

    /**
     * A pair from text with one answer and one wrong token, each of which must be a single token (give the leading
     * space, e.g. {@code " Mary"}); prompts are encoded without BOS.
     *
     * @throws IllegalArgumentException quoting the prompt and its token counts when the two prompts differ in length,
     *                                  or the answer that is not one token
     */
    public static TaskPair of(Gpt2Tokenizer tokenizer, String clean, String corrupted, String answer, String wrong) {
        int[] c = tokenizer.encode(clean), k = tokenizer.encode(corrupted);
        if (c.length != k.length) {
            throw new IllegalArgumentException("clean prompt \"" + clean + "\" is " + c.length
                    + " tokens but corrupted prompt \"" + corrupted + "\" is " + k.length
                    + " tokens: a pair needs one token length");
        }
        return new TaskPair(clean, corrupted, c, k, answer, wrong,
                new int[] {singleToken(tokenizer, answer, "answer", clean)},
                new int[] {singleToken(tokenizer, wrong, "wrong answer", clean)});
    }

    /** The id of {@code text} when it is exactly one token; otherwise an error naming the prompt it answers. */
    static int singleToken(Gpt2Tokenizer tokenizer, String text, String what, String prompt) {
        int[] ids = tokenizer.encode(text);
        if (ids.length != 1) {
            throw new IllegalArgumentException(what + " \"" + text + "\" of prompt \"" + prompt + "\" is " + ids.length
                    + " tokens " + Arrays.toString(ids) + ", not one");
        }
        return ids[0];
    }

    /** Token length of either prompt. */
    public int length() {
        return cleanIds.length;
    }

    /** The same pair with clean and corrupted prompts swapped (answer and wrong unchanged). */
    TaskPair swapPrompts() {
        return new TaskPair(corrupted, clean, corruptedIds, cleanIds, answer, wrong, answerIds, wrongIds);
    }

    /** The same prompts with answer and wrong swapped. */
    TaskPair swapAnswers() {
        return new TaskPair(clean, corrupted, cleanIds, corruptedIds, wrong, answer, wrongIds, answerIds);
    }

    @Override
    public int[] cleanIds() {
        return cleanIds.clone();
    }

    @Override
    public int[] corruptedIds() {
        return corruptedIds.clone();
    }

    @Override
    public int[] answerIds() {
        return answerIds.clone();
    }

    @Override
    public int[] wrongIds() {
        return wrongIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TaskPair p && clean.equals(p.clean) && corrupted.equals(p.corrupted)
                && answer.equals(p.answer) && wrong.equals(p.wrong) && Arrays.equals(cleanIds, p.cleanIds)
                && Arrays.equals(corruptedIds, p.corruptedIds) && Arrays.equals(answerIds, p.answerIds)
                && Arrays.equals(wrongIds, p.wrongIds);
    }

    @Override
    public int hashCode() {
        return List.of(clean, corrupted, answer, wrong).hashCode() * 31 + Arrays.hashCode(answerIds);
    }

    @Override
    public String toString() {
        return "TaskPair[\"" + clean + "\" / \"" + corrupted + "\" -> " + answer + " vs " + wrong + "]";
    }
}
