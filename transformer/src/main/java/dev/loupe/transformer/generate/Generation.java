package dev.loupe.transformer.generate;

import java.util.Arrays;

/**
 * One row's result.
 *
 * @param prompt  the prompt ids the row started from (a BOS token included when one was prepended)
 * @param tokens  the generated ids, in order; when {@code stopped}, the last is the stop token
 * @param text    the generated text without the stop token, or null when no tokenizer was given
 * @param stopped true when a stop token ended the row, false when it ran to {@code maxNewTokens}
 */
public record Generation(int[] prompt, int[] tokens, String text, boolean stopped) {
    public Generation {
        prompt = prompt.clone();
        tokens = tokens.clone();
    }

    @Override
    public int[] prompt() {
        return prompt.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** Prompt and generated ids together. */
    public int[] sequence() {
        int[] all = Arrays.copyOf(prompt, prompt.length + tokens.length);
        System.arraycopy(tokens, 0, all, prompt.length, tokens.length);
        return all;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Generation g && Arrays.equals(prompt, g.prompt) && Arrays.equals(tokens, g.tokens)
                && java.util.Objects.equals(text, g.text) && stopped == g.stopped;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(prompt) + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "Generation[prompt=" + Arrays.toString(prompt) + ", tokens=" + Arrays.toString(tokens)
                + (text == null ? "" : ", text=" + text) + ", stopped=" + stopped + "]";
    }
}
