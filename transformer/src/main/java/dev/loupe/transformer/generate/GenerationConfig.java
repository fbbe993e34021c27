package dev.loupe.transformer.generate;

import java.util.List;

/**
 * How to generate, in Hugging Face {@code generate} terms. Start from {@link #greedy(int)} or
 * {@link #sampling(int, float, long)} and adjust with the {@code with...} methods.
 *
 * @param maxNewTokens most tokens to generate per row (≥ 1)
 * @param temperature  0 for greedy decoding, else the softmax temperature (see {@link Sampler})
 * @param topK         keep the k most likely tokens; 0 = off
 * @param topP         nucleus probability in (0, 1]; 1 = off
 * @param seed         seeds the sampling: the same seed, model and prompts give the same tokens; row r draws from
 *                     its own stream (the r-th {@link dev.loupe.tensor.Rng#fork()} of {@code new Rng(seed)}), so a
 *                     row's draws do not depend on the other rows
 * @param stopTokens   ids that end a row (the stop token is part of the row's output); empty for none
 * @param prependBos   put {@code <|endoftext|>} before text prompts (TransformerLens's default for GPT-2); id prompts
 *                     are used as given
 * @param padTokenId   the id that pads short prompts on the left and fills rows that have stopped; -1 means the first
 *                     stop token, or 0 when there is none (padding is masked, so its id only has to exist)
 */
public record GenerationConfig(int maxNewTokens, float temperature, int topK, float topP, long seed,
                               List<Integer> stopTokens, boolean prependBos, int padTokenId) {
    public GenerationConfig {
        if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        new Sampler(temperature, topK, topP); // validates
        stopTokens = List.copyOf(stopTokens);
        for (int id : stopTokens) if (id < 0) throw new IllegalArgumentException("stop token id " + id + " < 0");
        if (padTokenId < -1) throw new IllegalArgumentException("padTokenId must be >= 0 or -1, got " + padTokenId);
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens, no stop tokens. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0, 0, 1, 0, List.of(), false, -1);
    }

    /** Sampling at {@code temperature} with {@code seed}, no top-k or top-p, no stop tokens. */
    public static GenerationConfig sampling(int maxNewTokens, float temperature, long seed) {
        return new GenerationConfig(maxNewTokens, temperature, 0, 1, seed, List.of(), false, -1);
    }

    public GenerationConfig withTopK(int k) {
        return new GenerationConfig(maxNewTokens, temperature, k, topP, seed, stopTokens, prependBos, padTokenId);
    }

    public GenerationConfig withTopP(float p) {
        return new GenerationConfig(maxNewTokens, temperature, topK, p, seed, stopTokens, prependBos, padTokenId);
    }

    public GenerationConfig withSeed(long s) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, s, stopTokens, prependBos, padTokenId);
    }

    public GenerationConfig withStopTokens(List<Integer> ids) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, ids, prependBos, padTokenId);
    }

    public GenerationConfig withPrependBos(boolean bos) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, stopTokens, bos, padTokenId);
    }

    public GenerationConfig withPadTokenId(int id) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, stopTokens, prependBos, id);
    }

    /** The sampler these settings describe. */
    public Sampler sampler() {
        return new Sampler(temperature, topK, topP);
    }

    /** The pad id actually used: {@code padTokenId}, else the first stop token, else 0. */
    public int resolvedPadId() {
        if (padTokenId >= 0) return padTokenId;
        return stopTokens.isEmpty() ? 0 : stopTokens.get(0);
    }
}
