package dev.loupe.cli;

import dev.loupe.interp.tasks.FactualRecall;
import dev.loupe.interp.tasks.GreaterThan;
import dev.loupe.interp.tasks.IndirectObjectIdentification;
import dev.loupe.interp.tasks.IndirectObjectIdentification.Corruption;
import dev.loupe.interp.tasks.IndirectObjectIdentification.Order;
import dev.loupe.interp.tasks.SubjectVerbAgreement;
import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.interp.tasks.TaskMetric;
import dev.loupe.interp.tasks.TaskPair;
import dev.loupe.tensor.Autograd;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.tensor.Tensor;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * What the task commands share: a task dataset from {@code --task}/{@code --n}/{@code --seed} (and IOI's options),
 * or one pair from {@code --clean}/{@code --corrupt}/{@code --answer}/{@code --wrong} as in {@code loupe patch}, and
 * the metric that scores it.
 */
final class TaskInputs {
    private TaskInputs() {
    }

    static final String TASKS = "ioi, greater-than, sva, factual";

    /** Flags of {@link #dataset}. */
    static final Set<String> DATASET_FLAGS = Set.of("--n", "--seed", "--corruption", "--order");
    static final String DATASET_HELP = """
              --n N               how many pairs to draw (default 100)
              --seed S            the generator's seed (default 0)
              --corruption C      ioi: abc (default; three new names) or s2 (S2 replaced by the IO)
              --order O           ioi: mixed (default), abba or baba
              --flipped           ioi: swap clean and corrupted prompts
            """;

    /** Flags of {@link #pairs} beyond the dataset's. */
    private static final Set<String> PAIR_FLAGS = Set.of("--task", "--clean", "--clean-tokens", "--corrupt",
            "--corrupt-tokens", "--answer", "--answer-id", "--wrong", "--wrong-id", "--metric");
    static final String PAIR_HELP = """
              --task T            take the pairs from a task dataset (%s) instead of --clean/--corrupt
              --clean TEXT        the clean prompt (or --clean-tokens ids)
              --corrupt TEXT      the corrupted prompt (or --corrupt-tokens ids)
            """.formatted(TASKS) + InterpInputs.ANSWER_HELP + """
              --metric M          logit-diff (default for --clean; answer − wrong) or prob-diff (Σ p(answers) −
                                  Σ p(wrongs)); a task's own metric by default (greater-than: prob-diff)
              --prepend-bos       put <|endoftext|> before text prompts
            """ + DATASET_HELP;

    /**
     * The arguments of a command that takes {@link #pairs}: its own {@code valued} flags and {@code switches} beside
     * {@link #PAIR_FLAGS}, {@link #DATASET_FLAGS}, {@code --prepend-bos} and {@code --flipped}.
     */
    static Args parse(String command, List<String> args, Set<String> valued, Set<String> switches) {
        Set<String> allValued = new HashSet<>(valued), allSwitches = new HashSet<>(switches);
        allValued.addAll(PAIR_FLAGS);
        allValued.addAll(DATASET_FLAGS);
        allSwitches.addAll(Set.of("--prepend-bos", "--flipped"));
        return Args.parse(command, args, allValued, allSwitches);
    }

    /** The dataset of {@code task} (one of {@link #TASKS}) from the dataset flags. */
    static TaskDataset dataset(String task, Args a, Gpt2Tokenizer tok) {
        int n = a.intValue("--n", 100, 1);
        long seed = a.longValue("--seed", 0);
        if (!task.equals("ioi") && (a.has("--corruption") || a.has("--order") || a.has("--flipped"))) {
            throw new IllegalArgumentException("--corruption, --order and --flipped apply to the ioi task only");
        }
        return switch (task) {
            case "ioi" -> IndirectObjectIdentification.generate(tok, n, seed, ioiOptions(a));
            case "greater-than" -> GreaterThan.generate(tok, n, seed);
            case "sva" -> SubjectVerbAgreement.generate(tok, n, seed);
            case "factual" -> FactualRecall.generate(tok, n, seed);
            default -> throw new IllegalArgumentException("unknown task '" + task + "' (" + TASKS + ")");
        };
    }

    private static IndirectObjectIdentification.Options ioiOptions(Args a) {
        Corruption corruption = switch (a.has("--corruption") ? a.get("--corruption") : "abc") {
            case "abc" -> Corruption.ABC;
            case "s2" -> Corruption.S2_SWAP;
            default -> throw new IllegalArgumentException("--corruption: expected abc or s2 but got '"
                    + a.get("--corruption") + "'");
        };
        Order order = switch (a.has("--order") ? a.get("--order") : "mixed") {
            case "mixed" -> Order.MIXED;
            case "abba" -> Order.ABBA;
            case "baba" -> Order.BABA;
            default -> throw new IllegalArgumentException("--order: expected mixed, abba or baba but got '"
                    + a.get("--order") + "'");
        };
        return new IndirectObjectIdentification.Options(order, corruption, a.has("--flipped"));
    }

    /**
     * The pairs a patching command runs: {@code --task}'s dataset, or the one pair of {@code --clean}/{@code
     * --corrupt}; with {@code --metric} applied. Every id is checked against the model's vocabulary and context.
     */
    static TaskDataset pairs(Args a, Gpt2Tokenizer tok, Gpt2Model model) {
        TaskDataset d;
        if (a.has("--task")) {
            for (String f : List.of("--clean", "--clean-tokens", "--corrupt", "--corrupt-tokens", "--answer",
                    "--answer-id", "--wrong", "--wrong-id")) {
                if (a.has(f)) throw new IllegalArgumentException(f + " and --task exclude each other");
            }
            d = dataset(a.get("--task"), a, tok);
        } else {
            int[] clean = InterpInputs.prompt(a, "--clean", tok, model);
            int[] corrupt = InterpInputs.prompt(a, "--corrupt", tok, model);
            int answer = InterpInputs.token(a, "--answer", tok, model);
            int wrong = InterpInputs.token(a, "--wrong", tok, model);
            String cleanText = a.has("--clean") ? a.get("--clean") : tok.decode(clean);
            String corruptText = a.has("--corrupt") ? a.get("--corrupt") : tok.decode(corrupt);
            d = new TaskDataset("custom", TaskMetric.LOGIT_DIFF, List.of(new TaskPair(cleanText, corruptText, clean,
                    corrupt, LogitsCommand.tokenText(tok, answer), LogitsCommand.tokenText(tok, wrong),
                    new int[] {answer}, new int[] {wrong})));
        }
        if (a.has("--metric")) d = d.withMetric(TaskMetric.named(a.get("--metric")));
        d.measure(); // a logit difference over several answers fails here, before any model run
        int vocab = model.config().dVocab();
        for (TaskPair p : d.pairs()) {
            if (p.length() > model.config().nCtx()) {
                throw new IllegalArgumentException("prompt \"" + p.clean() + "\" is " + p.length()
                        + " tokens but the model's context is " + model.config().nCtx());
            }
            for (int[] ids : List.of(p.cleanIds(), p.corruptedIds(), p.answerIds(), p.wrongIds())) {
                for (int id : ids) {
                    if (id >= vocab) {
                        throw new IllegalArgumentException("prompt \"" + p.clean() + "\": token id " + id
                                + " is outside the model's vocabulary (0.." + (vocab - 1) + ")");
                    }
                }
            }
        }
        return d;
    }

    /** The JSON key of a metric value, e.g. {@code clean_logit_diff}. */
    static String key(String prefix, TaskDataset d) {
        return prefix + "_" + d.metric().cliName.replace('-', '_');
    }

    /**
     * The mean over all pairs of a per-batch result, computed one token length at a time (a batch needs one length):
     * the metric is a mean over rows and rows do not interact, so Σ_g (n_g / n) · result(g) is the result of all
     * pairs as one batch.
     */
    static Tensor meanOverLengths(TaskDataset d, Function<TaskDataset, Tensor> result) {
        Tensor sum = null;
        for (TaskDataset g : d.byLength()) {
            Tensor t = result.apply(g).mul((float) g.size() / d.size());
            sum = sum == null ? t : sum.add(t);
        }
        return sum;
    }

    /** The task's metric on the clean and the corrupted prompts, averaged over all pairs: [2] {clean, corrupt}. */
    static float[] baselines(Gpt2Model model, TaskDataset d) {
        try (var off = Autograd.noGrad()) {
            return meanOverLengths(d, g -> Tensor.stack(0, g.measure().apply(model.forward(g.clean())),
                    g.measure().apply(model.forward(g.corrupted())))).toFloatArray();
        }
    }

    /** Puts the description of the pairs into a command's JSON. */
    static void describe(Map<String, Object> out, TaskDataset d) {
        out.put("task", d.task());
        out.put("metric", d.metric().cliName);
        out.put("pairs", d.size());
        Map<String, Object> lengths = new LinkedHashMap<>();
        for (TaskDataset g : d.byLength()) lengths.put(Integer.toString(g.pairs().get(0).length()), g.size());
        out.put("token_lengths", lengths);
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
