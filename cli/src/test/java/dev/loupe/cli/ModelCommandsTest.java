package dev.loupe.cli;

import static dev.loupe.cli.CliFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.SafeTensors;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model commands run in-process on a tiny random GPT-2 (GPT-2's vocabulary, so the bundled tokenizer fits)
 * saved to a temporary folder; their outputs are parsed and held against the model API on the same folder.
 */
class ModelCommandsTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static Gpt2Model model;
    static final Gpt2Tokenizer TOK = Gpt2Tokenizer.r50kBase();
    static final String PROMPT = "The cat sat on the";

    @BeforeAll
    static void saveModel() throws IOException {
        Gpt2Config c = Gpt2Config.gpt2(2, 16, 4, 50257, 32);
        dir = tmp.resolve("tiny");
        new Gpt2Model(c, Gpt2Weights.init(c, new Rng(42))).save(dir);
        model = Gpt2Model.load(dir);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Greedy continuation by full forward passes over the whole sequence. */
    private static int[] greedy(int[] prompt, int steps) {
        int[] seq = prompt.clone();
        for (int s = 0; s < steps; s++) {
            float[] last = model.forward(TokenBatch.of(seq)).select(1, seq.length - 1).toFloatArray();
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = argmax(last);
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    @Test
    void tokenizePrintsTheIdsAsJson() {
        String out = CliRun.of("tokenize", "--model", dir.toString(), "--text", PROMPT).ok();
        assertArrayEquals(TOK.encode(PROMPT), ints(Json.parse(out.strip())));
        out = CliRun.of("tokenize", "--model", dir.toString(), "--text=hi", "--prepend-bos").ok();
        assertArrayEquals(new int[] {50256, TOK.encode("hi")[0]}, ints(Json.parse(out.strip())));
    }

    @Test
    void generateContinuesGreedilyAsFullForwardPassesDo() {
        Map<?, ?> out = (Map<?, ?>) Json.parse(CliRun.of("generate", "--model", dir.toString(), "--prompt", PROMPT,
                "--max-new-tokens", "6", "--json").ok());
        int[] want = greedy(TOK.encode(PROMPT), 6);
        assertArrayEquals(TOK.encode(PROMPT), ints(out.get("prompt_ids")));
        assertArrayEquals(want, ints(out.get("ids")));
        assertEquals(TOK.decode(want), out.get("text"));
        assertEquals(false, out.get("stopped"));
        String plain = CliRun.of("generate", "--model", dir.toString(), "--prompt", PROMPT, "--max-new-tokens", "6")
                .ok();
        assertEquals(PROMPT + TOK.decode(want) + System.lineSeparator(), plain);
    }

    @Test
    void generateStopsAtAStopIdAndSamplesReproducibly() {
        int[] free = greedy(TOK.encode(PROMPT), 6);
        Map<?, ?> out = (Map<?, ?>) Json.parse(CliRun.of("generate", "--model", dir.toString(), "--prompt", PROMPT,
                "--max-new-tokens", "6", "--stop", String.valueOf(free[0]), "--json").ok());
        assertArrayEquals(new int[] {free[0]}, ints(out.get("ids")));
        assertEquals(true, out.get("stopped"));
        assertEquals("", out.get("text"));

        String[] sample = {"generate", "--model", dir.toString(), "--prompt", PROMPT, "--max-new-tokens", "8",
            "--temperature", "1.0", "--top-k", "50", "--top-p", "0.95", "--seed", "3", "--json"};
        String a = CliRun.of(sample).ok(), b = CliRun.of(sample).ok();
        assertEquals(a, b);
        sample[sample.length - 2] = "4";
        assertFalse(a.equals(CliRun.of(sample).ok()), "another seed, 8 draws from ~50 near-equal tokens");
    }

    @Test
    void logitsListsTheTopTokensWithSoftmaxProbabilities() {
        Map<?, ?> out = (Map<?, ?>) Json.parse(CliRun.of("logits", "--model", dir.toString(), "--prompt", PROMPT,
                "--top-k", "5").ok());
        int[] ids = TOK.encode(PROMPT);
        assertArrayEquals(ids, ints(out.get("tokens")));
        float[] last = model.forward(TokenBatch.of(ids)).select(1, ids.length - 1).toFloatArray();
        double max = Double.NEGATIVE_INFINITY, z = 0;
        for (float v : last) max = Math.max(max, v);
        for (float v : last) z += Math.exp(v - max);
        Integer[] order = new Integer[last.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Float.compare(last[y], last[x]));
        List<?> top = (List<?>) out.get("top");
        assertEquals(5, top.size());
        for (int i = 0; i < 5; i++) {
            Map<?, ?> e = (Map<?, ?>) top.get(i);
            int id = ((Number) e.get("id")).intValue();
            assertEquals(order[i], id, "rank " + i);
            assertEquals(TOK.tokenToString(id), e.get("token"));
            assertEquals(last[id], ((Number) e.get("logit")).floatValue(), 1e-6f);
            assertEquals(Math.exp(last[id] - max) / z, ((Number) e.get("prob")).doubleValue(), 1e-9);
        }
    }

    @Test
    void cacheWritesEveryActivationWithItsBatchDimAndTheLogits() throws IOException {
        Path file = tmp.resolve("all.safetensors");
        Map<?, ?> summary = (Map<?, ?>) Json.parse(CliRun.of("cache", "--model", dir.toString(), "--tokens",
                "464,3797,3332,319", "--out", file.toString()).ok());
        int[] ids = {464, 3797, 3332, 319};
        Gpt2Model.Output ref = model.run(TokenBatch.of(ids), Hooks.cacheAll());
        try (Checkpoint c = SafeTensors.open(file)) {
            assertEquals(ref.cache().size() + 1, c.names().size());
            assertEquals(((Number) summary.get("count")).intValue(), c.names().size());
            assertEquals(((Number) summary.get("bytes")).longValue(), Files.size(file));
            assertEquals(file.toString(), summary.get("file"));
            for (String name : ref.cache().names()) {
                assertArrayEquals(ref.cache().get(name).shape(), c.shape(name), name);
                assertArrayEquals(ref.cache().get(name).toFloatArray(), c.load(name).toFloatArray(), 1e-5f, name);
            }
            assertArrayEquals(new int[] {1, 4, 16}, c.shape("blocks.0.hook_resid_pre"));
            assertArrayEquals(new int[] {1, 4, 50257}, c.shape("logits"));
            assertArrayEquals(ref.logits().toFloatArray(), c.load("logits").toFloatArray(), 1e-5f);
            assertEquals("[464,3797,3332,319]", c.metadata().get("tokens"));
        }
    }

    @Test
    void cacheNamesFilterAndGradientsMatchTheActivationCache() throws IOException {
        int[] ids = TOK.encode(PROMPT);
        int a = 262, b = 257;
        Path file = tmp.resolve("grads.safetensors");
        CliRun.of("cache", "--model", dir.toString(), "--prompt", PROMPT, "--names", "resid_pre|hook_result",
                "--grad-of", "logit-diff:" + a + "," + b, "--out", file.toString()).ok();
        Gpt2Model.Output ref = model.run(TokenBatch.of(ids), Hooks.builder()
                .cache(n -> n.contains("resid_pre") || n.contains("hook_result")).cacheGradients().build());
        Tensor last = ref.logits().select(0, 0).select(0, ids.length - 1);
        last.select(0, a).sub(last.select(0, b)).backward();
        ActivationCache cache = ref.cache();
        try (Checkpoint c = SafeTensors.open(file)) {
            List<String> want = new java.util.ArrayList<>(List.of("blocks.0.hook_resid_pre",
                    "blocks.0.attn.hook_result", "blocks.1.hook_resid_pre", "blocks.1.attn.hook_result", "logits"));
            for (String n : List.copyOf(want.subList(0, 4))) want.add("grad:" + n);
            assertEquals(want, List.copyOf(c.names()));
            assertArrayEquals(new int[] {1, ids.length, 4, 16}, c.shape("blocks.1.attn.hook_result"));
            for (String n : cache.names()) {
                assertArrayEquals(cache.grad(n).toFloatArray(), c.load("grad:" + n).toFloatArray(), 1e-5f, n);
            }
            assertEquals("logit-diff:262,257", c.metadata().get("grad_of"));
        }
    }

    @Test
    void cacheGradOfLossIsTheMeanNextTokenCrossEntropyGradient() throws IOException {
        int[] ids = TOK.encode(PROMPT);
        Path file = tmp.resolve("loss.safetensors");
        CliRun.of("cache", "--model", dir.toString(), "--prompt", PROMPT, "--names", "hook_embed$",
                "--grad-of", "loss", "--out", file.toString()).ok();
        Gpt2Model.Output ref = model.run(TokenBatch.of(ids), Hooks.builder().cache("hook_embed")
                .cacheGradients().build());
        // mean over positions p of -log softmax(logits[p])[ids[p + 1]]
        Tensor logp = ref.logits().select(0, 0).logSoftmax(-1);
        Tensor loss = Tensor.scalar(0);
        for (int p = 0; p + 1 < ids.length; p++) loss = loss.sub(logp.select(0, p).select(0, ids[p + 1]));
        loss.div(ids.length - 1).backward();
        try (Checkpoint c = SafeTensors.open(file)) {
            assertEquals(List.of("hook_embed", "logits", "grad:hook_embed"), List.copyOf(c.names()));
            assertArrayEquals(ref.cache().grad("hook_embed").toFloatArray(), c.load("grad:hook_embed").toFloatArray(),
                    1e-6f);
        }
    }

    @Test
    void userErrorsAreOneLineWithExitCodeTwo() {
        String m = dir.toString();
        CliRun.assertUsageError("model folder /no/such/dir does not exist",
                "generate", "--model", "/no/such/dir", "--prompt", "x");
        CliRun.assertUsageError("unknown flag '--temp'", "generate", "--model", m, "--prompt", "x", "--temp", "1");
        CliRun.assertUsageError("--tokens expects comma-separated ids", "cache", "--model", m, "--tokens", "1,x",
                "--out", tmp.resolve("e.safetensors").toString());
        CliRun.assertUsageError("token id 60000 is outside the model's vocabulary", "logits", "--model", m, "--tokens",
                "1,60000");
        CliRun.assertUsageError("the prompt is 40 tokens but the model's context is 32", "logits", "--model", m, "--prompt",
                " a".repeat(40));
        CliRun.assertUsageError("exceeds the model's context of 32", "generate", "--model", m, "--prompt", " a".repeat(20),
                "--max-new-tokens", "20");
        CliRun.assertUsageError("--grad-of expects loss, logit:ID or logit-diff:ID,ID", "cache", "--model", m, "--tokens",
                "1,2", "--grad-of", "los", "--out", tmp.resolve("e.safetensors").toString());
        CliRun.assertUsageError("--names 'nothing' matches no hook point", "cache", "--model", m, "--tokens", "1,2",
                "--names", "nothing", "--out", tmp.resolve("e.safetensors").toString());
        CliRun.assertUsageError("--max-new-tokens expects an integer", "generate", "--model", m, "--prompt", "x",
                "--max-new-tokens", "many");
        CliRun.assertUsageError("cannot load a GPT-2 model from", "logits", "--model", tmp.toString(), "--tokens", "1");
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : List.of("tokenize", "generate", "logits", "cache")) {
            String out = CliRun.of(cmd, "--help").ok();
            assertTrue(out.startsWith("usage: loupe " + cmd + " --model DIR"), out);
        }
        String all = CliRun.of("help").ok();
        for (String cmd : List.of("tokenize", "generate", "logits", "cache")) assertTrue(all.contains("  " + cmd));
    }
}
