package dev.loupe.transformer.generate;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.KvCache;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Autoregressive generation from a {@link Gpt2Model}: the (left-padded) prompts go through the model once, filling a
 * {@link KvCache}; then each step feeds one new token per row. The given {@link Hooks} are active on every call, the
 * prompt pass and each step, so a forward hook (a steering vector on {@code blocks.0.hook_resid_pre}, say) acts on
 * every generated position exactly as it would in a full forward pass over the whole sequence. Hook caches are not
 * kept. Runs with gradient recording off.
 *
 * <p>A row that emits a stop token is finished: it keeps being fed the pad id (its output ignores it) until every row
 * has finished or {@code maxNewTokens} steps have run. Stateless apart from the model; thread-safe as the model is.
 */
public final class Generator {
    private final Gpt2Model model;

    public Generator(Gpt2Model model) {
        this.model = model;
    }

    /**
     * Generates a continuation of each prompt.
     *
     * @param prompts token ids per row (ragged; each non-empty, each id in the vocabulary)
     * @param hooks   active on every forward call, e.g. {@code Hooks.builder().forward(name, ForwardHook.add(v))}
     * @return one {@link Generation} per prompt, in order, without text
     * @throws IllegalArgumentException for an empty prompt, an id outside the vocabulary, or a prompt that leaves no
     *                                  room for {@code maxNewTokens} tokens within the context length
     */
    public List<Generation> generate(List<int[]> prompts, GenerationConfig config, Hooks hooks) {
        return run(prompts, config, hooks, null);
    }

    /**
     * Encodes the text prompts with {@code tokenizer} ({@code <|endoftext|>} first when
     * {@link GenerationConfig#prependBos()}) and generates; each result carries its decoded text.
     */
    public List<Generation> generate(Gpt2Tokenizer tokenizer, List<String> prompts, GenerationConfig config,
                                     Hooks hooks) {
        List<int[]> ids = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int[] row = tokenizer.encode(prompts.get(i), config.prependBos());
            if (row.length == 0) {
                throw new IllegalArgumentException("prompt " + i + " is empty: give some text or set prependBos");
            }
            ids.add(row);
        }
        return run(ids, config, hooks, tokenizer);
    }

    private List<Generation> run(List<int[]> prompts, GenerationConfig config, Hooks hooks, Gpt2Tokenizer tok) {
        check(prompts, config);
        int rows = prompts.size(), pad = config.resolvedPadId();
        Set<Integer> stops = new HashSet<>(config.stopTokens());
        Sampler sampler = config.sampler();
        Rng root = new Rng(config.seed());
        Rng[] rngs = new Rng[rows];
        for (int r = 0; r < rows; r++) rngs[r] = root.fork();

        int[][] out = new int[rows][config.maxNewTokens()];
        int[] count = new int[rows];
        boolean[] stopped = new boolean[rows];
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            KvCache cache = model.newKvCache();
            float[][] last = lastLogits(model.run(TokenBatch.leftPadded(prompts, pad), hooks, cache).logits());
            for (int step = 0; ; step++) {
                int[][] next = new int[rows][1];
                boolean allDone = true;
                for (int r = 0; r < rows; r++) {
                    if (stopped[r]) {
                        next[r][0] = pad;
                        continue;
                    }
                    int id = sampler.next(last[r], rngs[r]);
                    next[r][0] = id;
                    out[r][count[r]++] = id;
                    stopped[r] = stops.contains(id);
                    allDone &= stopped[r];
                }
                if (allDone || step + 1 == config.maxNewTokens()) break;
                last = lastLogits(model.run(TokenBatch.of(next), hooks, cache).logits());
            }
        }
        List<Generation> result = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            int[] tokens = Arrays.copyOf(out[r], count[r]);
            String text = tok == null ? null
                    : tok.decode(stopped[r] ? Arrays.copyOf(tokens, tokens.length - 1) : tokens);
            result.add(new Generation(prompts.get(r), tokens, text, stopped[r]));
        }
        return result;
    }

    private void check(List<int[]> prompts, GenerationConfig config) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to generate from");
        int vocab = model.config().dVocab(), ctx = model.config().nCtx();
        for (int id : config.stopTokens()) {
            if (id >= vocab) throw new IllegalArgumentException("stop token id " + id + " is outside the vocabulary "
                    + "(0.." + (vocab - 1) + ")");
        }
        if (config.resolvedPadId() >= vocab) {
            throw new IllegalArgumentException("pad token id " + config.resolvedPadId() + " is outside the vocabulary");
        }
        for (int i = 0; i < prompts.size(); i++) {
            int len = prompts.get(i).length;
            if (len == 0) throw new IllegalArgumentException("prompt " + i + " is empty (prepend a BOS token)");
            if (len + config.maxNewTokens() > ctx) {
                throw new IllegalArgumentException("prompt " + i + " has " + len + " tokens; with " + config.maxNewTokens()
                        + " new tokens that exceeds the context length " + ctx);
            }
        }
    }

    /** logits [batch, pos, d_vocab] → the last position's row per batch entry, [batch][d_vocab]. */
    private static float[][] lastLogits(Tensor logits) {
        int b = logits.size(0), v = logits.size(2);
        float[] flat = logits.select(1, logits.size(1) - 1).toFloatArray();
        float[][] rows = new float[b][];
        for (int r = 0; r < b; r++) rows[r] = Arrays.copyOfRange(flat, r * v, (r + 1) * v);
        return rows;
    }
}
