package dev.loupe.cli;

import static dev.loupe.cli.CliFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertConfig;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.BertWeights;
import dev.loupe.transformer.bert.Pooling;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.transformer.tokenizer.WordPieceTokenizer;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.SafeTensors;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The BERT side of the model commands, in-process: a tiny random BertForMaskedLM with a hand-written vocab.txt saved to
 * a temporary folder, and the built-in MiniLM; outputs are held against the model API and double-precision sums.
 */
class BertCommandsTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static BertModel model;
    static WordPieceTokenizer tok;
    static final String MASKED = "paris is the [MASK] of france.";

    @BeforeAll
    static void saveModel() throws IOException {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "paris", "is", "the",
                "capital", "of", "france", ".", "a", "cat", "sat", "on", "mat", "dog", "ran", "##s", "city"));
        while (vocab.size() < 48) vocab.add("w" + vocab.size());
        BertConfig c = BertConfig.bert(2, 16, 4, 32, vocab.size(), 24);
        dir = tmp.resolve("tiny-bert");
        new BertModel(c, BertWeights.init(c, new Rng(7)), new Pooling(Pooling.Mode.MEAN, false)).save(dir);
        Files.write(dir.resolve("vocab.txt"), vocab);
        model = BertModel.load(dir);
        tok = WordPieceTokenizer.fromFolder(dir);
    }

    private static double[] doubles(Object json) {
        return ((List<?>) json).stream().mapToDouble(x -> ((Number) x).doubleValue()).toArray();
    }

    @Test
    void tokenizeUsesTheFoldersWordPieceVocabularyAndTheBuiltInsTokenizer() {
        String out = CliRun.of("tokenize", "--model", dir.toString(), "--text", "The cats sat.").ok();
        // [CLS] the cat ##s sat . [SEP] by the vocabulary's line numbers
        assertArrayEquals(new int[] {2, 7, 13, 19, 14, 11, 3}, ints(Json.parse(out.strip())));
        // bert-base-uncased's ids, as MiniLM shares them: hello 7592, "," 1010, world 2088, [MASK] 103
        out = CliRun.of("tokenize", "--model", "minilm", "--text", "Hello, world [MASK]").ok();
        assertArrayEquals(new int[] {101, 7592, 1010, 2088, 103, 102}, ints(Json.parse(out.strip())));
    }

    @Test
    void embedPrintsTheModelsEmbeddingsAndTheirCosineSimilarities() throws IOException {
        List<String> texts = List.of("the cat sat on the mat.", "a dog ran.", "paris is a city of france.");
        String[] args = {"embed", "--model", dir.toString(), "--text", texts.get(0), "--text", texts.get(1),
            "--text", texts.get(2)};
        Map<?, ?> out = (Map<?, ?>) Json.parse(CliRun.of(args).ok());
        assertEquals(dir.toString(), out.get("model"));
        List<Encoding> enc = new ArrayList<>();
        for (String t : texts) enc.add(tok.encode(t));
        Tensor want = model.embed(BertInput.of(enc));
        checkEmbeddings(want, out);

        Path file = tmp.resolve("emb.json");
        String[] toFile = Arrays.copyOf(args, args.length + 2);
        toFile[args.length] = "--out";
        toFile[args.length + 1] = file.toString();
        Map<?, ?> summary = (Map<?, ?>) Json.parse(CliRun.of(toFile).ok());
        assertEquals(3, ((Number) summary.get("count")).intValue());
        assertEquals(16, ((Number) summary.get("dim")).intValue());
        // Held to the model, not to the first run bit for bit: JIT-compiled and interpreted SIMD code round apart.
        Map<?, ?> written = (Map<?, ?>) Json.parse(Files.readString(file));
        assertEquals(dir.toString(), written.get("model"));
        checkEmbeddings(want, written);
    }

    /** Embeddings equal {@code want} [n, d]; cosine[i][j] = e_i·e_j / (|e_i| |e_j|) summed in double. */
    private static void checkEmbeddings(Tensor want, Map<?, ?> out) {
        List<?> emb = (List<?>) out.get("embeddings"), cos = (List<?>) out.get("cosine");
        int n = want.size(0);
        assertEquals(n, emb.size());
        float[][] e = new float[n][];
        for (int i = 0; i < n; i++) {
            e[i] = want.select(0, i).toFloatArray();
            double[] got = doubles(emb.get(i));
            assertEquals(e[i].length, got.length);
            for (int j = 0; j < got.length; j++) assertEquals(e[i][j], got[j], 1e-6, "embedding " + i + "[" + j + "]");
        }
        for (int i = 0; i < n; i++) {
            double[] row = doubles(cos.get(i));
            for (int j = 0; j < n; j++) {
                double dot = 0, ni = 0, nj = 0;
                for (int k = 0; k < e[i].length; k++) {
                    dot += (double) e[i][k] * e[j][k];
                    ni += (double) e[i][k] * e[i][k];
                    nj += (double) e[j][k] * e[j][k];
                }
                assertEquals(dot / Math.sqrt(ni * nj), row[j], 1e-6, "cosine[" + i + "][" + j + "]");
            }
        }
    }

    @Test
    void embedWithTheBuiltInMiniLm() throws IOException {
        List<String> texts = List.of("A kitten sleeps on the rug.", "A cat naps on a carpet.", "Bond yields rose.");
        Map<?, ?> out = (Map<?, ?>) Json.parse(CliRun.of("embed", "--model", "minilm", "--text", texts.get(0),
                "--text", texts.get(1), "--text", texts.get(2)).ok());
        assertEquals("minilm", out.get("model"));
        EncoderInputs.Encoder enc = EncoderInputs.load("minilm");
        checkEmbeddings(BertModel.builtIn("minilm").embed(enc.input(texts)), out);
        List<?> cos = (List<?>) out.get("cosine");
        double paraphrase = doubles(cos.get(0))[1], unrelated = doubles(cos.get(0))[2];
        assertTrue(paraphrase > unrelated + 0.3, paraphrase + " vs " + unrelated);
    }

    @Test
    void fillMaskListsTheTopTokensAtEachMaskWithSoftmaxProbabilities() {
        String twoMasks = "[MASK] is the [MASK] of france.";
        Map<?, ?> out = (Map<?, ?>) Json.parse(CliRun.of("fill-mask", "--model", dir.toString(), "--text", twoMasks,
                "--top-k", "4").ok());
        Encoding e = tok.encode(twoMasks);
        assertEquals(List.of(e.tokens()), out.get("tokens"));
        Tensor logits = model.runMaskedLm(BertInput.of(List.of(e)), Hooks.none()).logits().select(0, 0);
        List<?> masks = (List<?>) out.get("masks");
        assertEquals(2, masks.size());
        int[] positions = {1, 4}; // [CLS] [MASK] is the [MASK] ...
        for (int m = 0; m < 2; m++) {
            Map<?, ?> mask = (Map<?, ?>) masks.get(m);
            assertEquals(positions[m], ((Number) mask.get("position")).intValue());
            float[] row = logits.select(0, positions[m]).toFloatArray();
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (float v : row) max = Math.max(max, v);
            for (float v : row) z += Math.exp(v - max);
            Integer[] order = new Integer[row.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (x, y) -> Float.compare(row[y], row[x]));
            List<?> top = (List<?>) mask.get("top");
            assertEquals(4, top.size());
            for (int i = 0; i < 4; i++) {
                Map<?, ?> t = (Map<?, ?>) top.get(i);
                assertEquals(order[i], ((Number) t.get("id")).intValue(), "rank " + i);
                assertEquals(tok.token(order[i]), t.get("token"));
                assertEquals(Math.exp(row[order[i]] - max) / z, ((Number) t.get("prob")).doubleValue(), 1e-7);
            }
        }
    }

    @Test
    void cacheWritesBertPointsHiddenEmbeddingLogitsAndTheMaskLogitGradient() throws IOException {
        Path file = tmp.resolve("bert.safetensors");
        int target = tok.tokenId("capital");
        Map<?, ?> summary = (Map<?, ?>) Json.parse(CliRun.of("cache", "--model", dir.toString(), "--prompt", MASKED,
                "--grad-of", "logit:" + target, "--out", file.toString()).ok());
        Encoding e = tok.encode(MASKED);
        BertModel.Output ref = model.runMaskedLm(BertInput.of(List.of(e)), Hooks.builder().cacheAll()
                .cacheGradients().build());
        ref.logits().select(0, 0).select(0, 4).select(0, target).backward(); // [CLS] paris is the [MASK]
        try (Checkpoint c = SafeTensors.open(file)) {
            assertEquals(((Number) summary.get("count")).intValue(), c.names().size());
            // The pooler and hook_pooled do not feed the MLM logits: no gradient there.
            assertEquals(2 * ref.cache().size() + 3 - 2, c.names().size());
            for (String n : ref.cache().names()) {
                assertArrayEquals(ref.cache().get(n).toFloatArray(), c.load(n).toFloatArray(), 1e-5f, n);
                if (n.equals("pooler.hook_pooler_out") || n.equals("hook_pooled")) {
                    assertFalse(c.names().contains("grad:" + n), n);
                    continue;
                }
                assertArrayEquals(ref.cache().grad(n).toFloatArray(), c.load("grad:" + n).toFloatArray(), 1e-5f, n);
            }
            assertArrayEquals(new int[] {1, e.length(), 16}, c.shape("hidden"));
            assertArrayEquals(ref.hidden().toFloatArray(), c.load("hidden").toFloatArray(), 1e-5f);
            assertArrayEquals(new int[] {1, 16}, c.shape("embedding"));
            assertArrayEquals(ref.embedding().toFloatArray(), c.load("embedding").toFloatArray(), 1e-5f);
            assertArrayEquals(new int[] {1, e.length(), 48}, c.shape("logits"));
            assertTrue(c.names().contains("blocks.1.hook_normalized_resid_post"));
            assertEquals(Json.write(e.ids()), c.metadata().get("tokens"));
        }
    }

    @Test
    void cacheGradOfEmbeddingNormIsTheGradientOfThePooledVectorsLength() throws IOException {
        Path file = tmp.resolve("norm.safetensors");
        CliRun.of("cache", "--model", dir.toString(), "--prompt", "the cat sat.", "--names", "hook_full_embed|resid_pre",
                "--grad-of", "embedding-norm", "--out", file.toString()).ok();
        BertInput in = BertInput.of(List.of(tok.encode("the cat sat.")));
        BertModel.Output ref = model.run(in, Hooks.builder().cache("hook_full_embed|resid_pre").cacheGradients()
                .build());
        // This folder pools by mean without normalising: the embedding is hook_pooled itself. |e| = sqrt(Σ e²)
        ref.embedding().mul(ref.embedding()).sum().sqrt().backward();
        try (Checkpoint c = SafeTensors.open(file)) {
            assertEquals(List.of("hook_full_embed", "blocks.0.hook_resid_pre", "blocks.1.hook_resid_pre", "hidden",
                    "embedding", "logits", "grad:hook_full_embed", "grad:blocks.0.hook_resid_pre",
                    "grad:blocks.1.hook_resid_pre"), List.copyOf(c.names()));
            for (String n : ref.cache().names()) {
                assertArrayEquals(ref.cache().grad(n).toFloatArray(), c.load("grad:" + n).toFloatArray(), 1e-5f, n);
            }
        }
    }

    @Test
    void bertUserErrorsAreOneLineWithExitCodeTwo() {
        String m = dir.toString(), out = tmp.resolve("e.safetensors").toString();
        CliRun.assertUsageError("has no masked-LM head", "fill-mask", "--model", "minilm", "--text", "a [MASK].");
        CliRun.assertUsageError("the text has no [MASK] token", "fill-mask", "--model", m, "--text", "no mask here");
        CliRun.assertUsageError("--grad-of for a BERT model expects embedding-norm or logit:ID", "cache", "--model", m,
                "--prompt", "the cat", "--grad-of", "loss", "--out", out);
        CliRun.assertUsageError("needs exactly one, it has 0", "cache", "--model", m, "--prompt", "the cat",
                "--grad-of", "logit:5", "--out", out);
        CliRun.assertUsageError("needs a masked-LM checkpoint", "cache", "--model", "minilm", "--prompt", "a [MASK]",
                "--grad-of", "logit:5", "--out", out);
        CliRun.assertUsageError("--prepend-bos is for GPT-2", "tokenize", "--model", m, "--text", "x", "--prepend-bos");
        CliRun.assertUsageError("--text is required", "embed", "--model", m);
        CliRun.assertUsageError("is not a BERT encoder", "embed", "--model", tmp.toString(), "--text", "x");
        CliRun.assertUsageError("no tokenizer.json or vocab.txt", "embed", "--model", tokenizerless(), "--text", "x");
    }

    private static String tokenizerless() {
        try {
            Path d = tmp.resolve("no-tokenizer");
            Files.createDirectories(d);
            Files.copy(dir.resolve("config.json"), d.resolve("config.json"));
            Files.copy(dir.resolve("model.safetensors"), d.resolve("model.safetensors"));
            return d.toString();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theBertCommandsHaveHelp() {
        assertTrue(CliRun.of("embed", "--help").ok().startsWith("usage: loupe embed --model M"));
        assertTrue(CliRun.of("fill-mask", "--help").ok().startsWith("usage: loupe fill-mask --model DIR"));
        assertTrue(CliRun.of("cache", "--help").ok().contains("embedding-norm"));
        String all = CliRun.of("help").ok();
        assertTrue(all.contains("  embed") && all.contains("  fill-mask"), all);
    }
}
