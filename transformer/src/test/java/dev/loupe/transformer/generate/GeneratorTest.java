package dev.loupe.transformer.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.TinyGpt2;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The reference for every KV-cached generation is the obvious loop: run the whole sequence so far through
 * {@link Gpt2Model#run} (no cache, no padding), take the last position's logits, pick, append.
 */
class GeneratorTest {
    private final Gpt2Model model = TinyGpt2.random(TinyGpt2.config(), 11);
    private final Generator generator = new Generator(model);
    private static final List<int[]> PROMPTS = List.of(new int[] {5, 9, 2, 33, 7}, new int[] {60},
            new int[] {1, 2, 3, 4, 5, 6, 7, 8}, new int[] {40, 41});

    /** Full recompute each step; {@code sampler} picks with {@code rng}. */
    private int[] byRecompute(int[] prompt, int steps, Hooks hooks, Sampler sampler, Rng rng) {
        int[] seq = prompt.clone();
        for (int s = 0; s < steps; s++) {
            Tensor logits = model.run(TokenBatch.of(seq), hooks).logits(); // [1, pos, vocab]
            float[] last = logits.select(1, seq.length - 1).toFloatArray();
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = sampler.next(last, rng);
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    private int[] greedyByRecompute(int[] prompt, int steps, Hooks hooks) {
        return byRecompute(prompt, steps, hooks, Sampler.greedy(), null);
    }

    @Test
    void greedyWithKvCacheEqualsGreedyByFullRecompute() {
        for (int[] prompt : PROMPTS) {
            Generation g = generator.generate(List.of(prompt), GenerationConfig.greedy(12), Hooks.none()).get(0);
            assertArrayEquals(greedyByRecompute(prompt, 12, Hooks.none()), g.tokens(), Arrays.toString(prompt));
            assertArrayEquals(prompt, g.prompt());
            assertFalse(g.stopped());
            assertNull(g.text());
        }
    }

    /** One prompt token and 23 new ones fill the context of 24; the cache's storage grows five times on the way. */
    @Test
    void aGreedyGenerationToTheFullContextEqualsGreedyByFullRecompute() {
        int[] prompt = {60};
        int steps = model.config().nCtx() - prompt.length;
        Generation g = generator.generate(List.of(prompt), GenerationConfig.greedy(steps), Hooks.none()).get(0);
        assertArrayEquals(greedyByRecompute(prompt, steps, Hooks.none()), g.tokens());
    }

    @Test
    void leftPaddedBatchRowsGenerateAsEachRowAlone() {
        List<Generation> batch = generator.generate(PROMPTS, GenerationConfig.greedy(10), Hooks.none());
        assertEquals(PROMPTS.size(), batch.size());
        for (int r = 0; r < PROMPTS.size(); r++) {
            assertArrayEquals(greedyByRecompute(PROMPTS.get(r), 10, Hooks.none()), batch.get(r).tokens(), "row " + r);
        }
    }

    @Test
    void steeringHookActsOnEveryStepAsInAFullForwardPass() {
        Tensor steer = Tensor.randn(new Rng(3), model.config().dModel()).mul(3f);
        Hooks hooks = Hooks.builder().forward("blocks.0.hook_resid_pre", ForwardHook.add(steer)).build();
        List<Generation> steered = generator.generate(PROMPTS, GenerationConfig.greedy(10), hooks);
        List<Generation> plain = generator.generate(PROMPTS, GenerationConfig.greedy(10), Hooks.none());
        boolean changed = false;
        for (int r = 0; r < PROMPTS.size(); r++) {
            assertArrayEquals(greedyByRecompute(PROMPTS.get(r), 10, hooks), steered.get(r).tokens(), "row " + r);
            changed |= !Arrays.equals(plain.get(r).tokens(), steered.get(r).tokens());
        }
        assertTrue(changed, "a steering vector of norm ~12 should change some greedy continuation");
    }

    @Test
    void sampledGenerationEqualsSamplingByRecomputeWithTheRowsStream() {
        GenerationConfig cfg = GenerationConfig.sampling(12, 1.5f, 77).withTopK(20).withTopP(0.9f);
        int[] prompt = PROMPTS.get(0);
        Generation g = generator.generate(List.of(prompt), cfg, Hooks.none()).get(0);
        Rng row0 = new Rng(77).fork(); // the documented stream of row 0
        assertArrayEquals(byRecompute(prompt, 12, Hooks.none(), cfg.sampler(), row0), g.tokens());
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        GenerationConfig cfg = GenerationConfig.sampling(16, 2f, 1);
        List<Generation> a = generator.generate(PROMPTS, cfg, Hooks.none());
        List<Generation> b = generator.generate(PROMPTS, cfg, Hooks.none());
        List<Generation> c = generator.generate(PROMPTS, cfg.withSeed(2), Hooks.none());
        assertEquals(a, b);
        assertNotEquals(a, c); // 64 tokens drawn at T = 2 from a vocab of 64: equal by chance is negligible
        // A row's draws do not depend on the rows beside it.
        assertEquals(a.get(0), generator.generate(List.of(PROMPTS.get(0)), cfg, Hooks.none()).get(0));
    }

    @Test
    void stopTokenEndsItsRowWhileOthersRunOn() {
        int[] free = greedyByRecompute(PROMPTS.get(0), 12, Hooks.none());
        int at = firstNewTokenIndex(free); // a token not generated before it, so the row stops exactly there
        int stop = free[at];
        GenerationConfig cfg = GenerationConfig.greedy(12).withStopTokens(List.of(stop));
        List<Generation> out = generator.generate(List.of(PROMPTS.get(0), PROMPTS.get(1)), cfg, Hooks.none());
        assertArrayEquals(Arrays.copyOf(free, at + 1), out.get(0).tokens());
        assertTrue(out.get(0).stopped());
        int[] other = greedyByRecompute(PROMPTS.get(1), 12, Hooks.none());
        int otherStop = indexOf(other, stop);
        Generation o = out.get(1);
        if (otherStop < 0) {
            assertArrayEquals(other, o.tokens());
            assertFalse(o.stopped());
        } else {
            assertArrayEquals(Arrays.copyOf(other, otherStop + 1), o.tokens());
        }
    }

    @Test
    void textPromptsAreEncodedAndResultsDecoded() {
        Gpt2Tokenizer tok = Gpt2Tokenizer.r50kBase(); // ids below 64 are single ASCII punctuation and letters
        int[] ids = tok.encode("A+B");
        for (int id : ids) assertTrue(id < 64, "fixture assumption: " + Arrays.toString(ids));
        Generation g = generator.generate(tok, List.of("A+B"), GenerationConfig.greedy(6), Hooks.none()).get(0);
        assertArrayEquals(ids, g.prompt());
        assertArrayEquals(greedyByRecompute(ids, 6, Hooks.none()), g.tokens());
        assertEquals(tok.decode(g.tokens()), g.text());
    }

    @Test
    void promptsThatLeaveNoRoomOrAreEmptyAreRejected() {
        int ctx = model.config().nCtx();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(new int[ctx - 3]), GenerationConfig.greedy(4), Hooks.none()));
        assertTrue(e.getMessage().contains("exceeds the context length " + ctx), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(new int[0]), GenerationConfig.greedy(4), Hooks.none()));
        e = assertThrows(IllegalArgumentException.class, () -> generator.generate(List.of(new int[] {1}),
                GenerationConfig.greedy(4).withStopTokens(List.of(64)), Hooks.none()));
        assertTrue(e.getMessage().contains("stop token id 64"), e.getMessage());
        // exactly filling the context is allowed
        assertEquals(4, generator.generate(List.of(new int[ctx - 4]), GenerationConfig.greedy(4), Hooks.none())
                .get(0).tokens().length);
    }

    private static int firstNewTokenIndex(int[] tokens) {
        for (int i = 2; i < tokens.length; i++) if (indexOf(Arrays.copyOf(tokens, i), tokens[i]) < 0) return i;
        throw new AssertionError("no fresh token in " + Arrays.toString(tokens));
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }
}
