package dev.loupe.interp.demo;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.transformer.train.RepeatedTokens;
import dev.loupe.transformer.train.TrainConfig;
import dev.loupe.transformer.train.Trainer;
import dev.loupe.transformer.train.TrainingData;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The two demo models, trained from fixed seeds the first time they are asked for and cached as Hugging Face GPT-2
 * folders under {@link #cacheRoot()} ({@code demo/<name>}); a folder without its {@code loupe_demo.json} marker (an
 * interrupted build) is rebuilt. Quick variants (fewer steps, for CI) are cached under their own names.
 */
public final class DemoModels {
    /**
     * Induction task: BOS = 0, random tokens 1..63, rows of 42 tokens (41 inputs: every position of the model's
     * context is trained, the last one included) = BOS + a block r of 4 to 20 distinct tokens repeated to the end.
     */
    public static final RepeatedTokens INDUCTION_TASK = new RepeatedTokens(0, 1, 63, 42, 4, 20, 64);
    /** IOI rows: BOS + up to 40 tokens of one IOI sentence followed by filler sentences. */
    static final int IOI_LENGTH = 40, IOI_BATCH = 32;
    /** Loss weight of the IO answer in a training row (every other position weighs 1). */
    static final float IOI_ANSWER_WEIGHT = 10;
    private static final String MARKER = "loupe_demo.json", VOCAB = "demo_vocab.json";

    /** The IOI model and its reduced vocabulary: model id i is GPT-2 id {@code gpt2Ids[i]} (id 0 is BOS). */
    public record IoiModel(Gpt2Model model, int[] gpt2Ids, Gpt2Tokenizer tokenizer) {
        /** GPT-2 text → model ids, with BOS first. */
        public int[] encode(String text) {
            int[] ids = IoiCorpus.remap(tokenizer.encode(text), gpt2Ids);
            int[] out = new int[ids.length + 1];
            System.arraycopy(ids, 0, out, 1, ids.length);
            return out;
        }

        /** Model id → its GPT-2 token text. */
        public String token(int id) {
            return tokenizer.decode(new int[] {gpt2Ids[id]});
        }
    }

    /** What a build did: where the model is, whether it was trained now, and the training time. */
    public record Built(Path folder, boolean trained, double seconds, int steps) {
    }

    private DemoModels() {
    }

    /** {@code $XDG_CACHE_HOME/loupe}, else {@code ~/.cache/loupe}. */
    public static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "loupe");
        return Path.of(System.getProperty("user.home"), ".cache", "loupe");
    }

    /** Training steps of the induction model. */
    public static int inductionSteps(boolean quick) {
        return inductionTraining(quick).steps();
    }

    /** Training steps of the IOI model. */
    public static int ioiSteps(boolean quick) {
        return ioiTraining(quick).steps();
    }

    static Gpt2Config inductionConfig() {
        return Gpt2Config.gpt2(2, 64, 4, 64, 41).attentionOnly();
    }

    static TrainConfig inductionTraining(boolean quick) {
        TrainConfig full = new TrainConfig(1000, 100, 3e-3, 3e-4, 0.01, 1.0, 1);
        return quick ? full.withSteps(300, 30) : full;
    }

    static Gpt2Config ioiConfig(int vocab) {
        return Gpt2Config.gpt2(3, 64, 4, vocab, IOI_LENGTH);
    }

    static TrainConfig ioiTraining(boolean quick) {
        TrainConfig full = new TrainConfig(1500, 100, 3e-3, 3e-4, 0.01, 1.0, 2);
        return quick ? full.withSteps(300, 30) : full;
    }

    /** Builds (if needed) and loads the induction model. */
    public static Gpt2Model induction(boolean quick, Trainer.Listener progress, Built[] report) throws IOException {
        Path folder = cacheRoot().resolve("demo").resolve(quick ? "induction-quick" : "induction");
        Built b = build(folder, inductionConfig(), inductionTraining(quick), INDUCTION_TASK, progress, Map.of());
        if (report != null) report[0] = b;
        return Gpt2Model.load(folder, Gpt2Model.Placement.HEAP);
    }

    /** Builds (if needed) and loads the IOI model with its vocabulary. */
    public static IoiModel ioi(boolean quick, Trainer.Listener progress, Built[] report) throws IOException {
        Gpt2Tokenizer tok = Gpt2Tokenizer.r50kBase();
        int[] vocab = IoiCorpus.vocabulary(tok);
        Path folder = cacheRoot().resolve("demo").resolve(quick ? "ioi-quick" : "ioi");
        Built b = build(folder, ioiConfig(vocab.length), ioiTraining(quick), ioiData(tok, vocab, IOI_ANSWER_WEIGHT), progress,
                Map.of(VOCAB, Json.write(Map.of("gpt2_ids", Arrays.stream(vocab).boxed().toList())) + "\n"));
        if (report != null) report[0] = b;
        return new IoiModel(Gpt2Model.load(folder, Gpt2Model.Placement.HEAP), vocab, tok);
    }

    /**
     * IOI training rows: BOS + the first 40 tokens of an IOI sentence, its answer and fillers (a shorter row is not
     * counted past its end). The answer's position weighs {@code answerWeight} in the loss, every other position 1:
     * the answer is one target among about 40, most of them filler names that cannot be predicted.
     */
    static TrainingData ioiData(Gpt2Tokenizer tok, int[] vocab, float answerWeight) {
        return rng -> {
            int[][] in = new int[IOI_BATCH][IOI_LENGTH];
            float[] targets = new float[IOI_BATCH * IOI_LENGTH], weights = new float[IOI_BATCH * IOI_LENGTH];
            Arrays.fill(targets, -1);
            Arrays.fill(weights, 1);
            for (int r = 0; r < IOI_BATCH; r++) {
                IoiCorpus.TrainingRow row = IoiCorpus.trainingRow(rng, 4);
                int[] ids = IoiCorpus.remap(tok.encode(row.text()), vocab);
                int n = Math.min(ids.length, IOI_LENGTH);
                // in[r][0] = BOS (id 0); the rest of a short row stays BOS with no target
                for (int i = 0; i < n; i++) {
                    if (i + 1 < IOI_LENGTH) in[r][i + 1] = ids[i];
                    targets[r * IOI_LENGTH + i] = ids[i];
                }
                // ids[answer] is the IO name: the prompt is a prefix of the row ending before a space-led name
                int answer = tok.encode(row.prompt().text()).length;
                if (answer < IOI_LENGTH) weights[r * IOI_LENGTH + answer] = answerWeight;
            }
            return new TrainingData.Batch(TokenBatch.of(in), Tensor.of(targets, IOI_BATCH, IOI_LENGTH),
                    Tensor.of(weights, IOI_BATCH, IOI_LENGTH));
        };
    }

    private static Built build(Path folder, Gpt2Config config, TrainConfig training, TrainingData data,
                               Trainer.Listener progress, Map<String, String> extraFiles) throws IOException {
        // The recipe names everything that shapes the weights, so a cache built by another version is rebuilt.
        String recipe = config + " " + training + " " + recipeOf(data);
        if (Files.exists(folder.resolve(MARKER))) {
            Map<?, ?> m = (Map<?, ?>) Json.parse(Files.readString(folder.resolve(MARKER)));
            if (recipe.equals(m.get("recipe"))) {
                return new Built(folder, false, ((Number) m.get("train_seconds")).doubleValue(),
                        ((Number) m.get("steps")).intValue());
            }
        }
        if (Files.exists(folder)) deleteTree(folder);
        Gpt2Weights w = Gpt2Weights.init(config, new Rng(training.seed()));
        if (config.attnOnly()) {
            // Untied unembedding, as TransformerLens's attn-only models have: with W_U = W_Eᵀ the copying circuit
            // and the embedding share one matrix.
            w = new Gpt2Weights(w.nHeads(), w.wte(), w.wpe(), w.blocks(), w.lnFinalW(), w.lnFinalB(),
                    Tensor.randn(new Rng(training.seed() + 1), config.dModel(), config.dVocab()).mul(0.02f), null);
        }
        Gpt2Model model = new Gpt2Model(config, w);
        Trainer trainer = new Trainer(model, training, data);
        long t0 = System.nanoTime();
        trainer.run(training.steps(), progress);
        double seconds = (System.nanoTime() - t0) / 1e9;
        Path tmp = folder.resolveSibling(folder.getFileName() + ".partial");
        if (Files.exists(tmp)) deleteTree(tmp);
        model.save(tmp);
        for (Map.Entry<String, String> e : extraFiles.entrySet()) {
            AtomicFiles.writeString(tmp.resolve(e.getKey()), e.getValue());
        }
        Map<String, Object> marker = new LinkedHashMap<>();
        marker.put("steps", training.steps());
        marker.put("train_seconds", seconds);
        marker.put("seed", training.seed());
        marker.put("recipe", recipe);
        AtomicFiles.writeString(tmp.resolve(MARKER), Json.write(marker, true) + "\n");
        Files.move(tmp, folder);
        return new Built(folder, true, seconds, training.steps());
    }

    /** A record's own description, or for the IOI data (a lambda) the corpus version and answer weight. */
    private static String recipeOf(TrainingData data) {
        return data instanceof Record ? data.toString()
                : "ioi-corpus-v2 names=" + IoiCorpus.NAMES.size() + " answer_weight=" + IOI_ANSWER_WEIGHT;
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }

    /** The evaluation of the IOI model: per prompt logit(IO) − logit(S) at the last position. */
    public static float[] ioiLogitDiffs(IoiModel m, List<IoiCorpus.Prompt> prompts) {
        float[] out = new float[prompts.size()];
        try (var off = dev.loupe.tensor.Autograd.noGrad()) {
            for (int i = 0; i < prompts.size(); i++) {
                IoiCorpus.Prompt p = prompts.get(i);
                int[] ids = m.encode(p.text());
                Tensor logits = m.model().forward(TokenBatch.of(ids)).select(0, 0).select(0, ids.length - 1);
                int io = m.encode(p.io())[1], s = m.encode(p.s())[1];
                out[i] = logits.get(io) - logits.get(s);
            }
        }
        return out;
    }
}
