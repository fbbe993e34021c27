package dev.loupe.cli;

import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.interp.tasks.TaskPair;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe dataset}: the prompt pairs of a task, as JSON. */
final class DatasetCommand implements Command {
    static final String HELP = """
            usage: loupe dataset ioi|greater-than|sva|factual [--n 100] [--seed 0] [--model DIR] [--out FILE.json]
                                 [--corruption abc|s2] [--order mixed|abba|baba] [--flipped]

            Draws N clean/corrupted prompt pairs of a task, seeded, keeping only candidates whose prompts have one
            token length and whose answers are single tokens under the tokenizer (the model folder's, else GPT-2's):
              ioi            Wang et al. (2022) templates; metric logit-diff IO − S
              greater-than   "The war lasted from the year 17YY to the year 17", corrupted with 01; metric
                             prob-diff Σ p(y > YY) − Σ p(y ≤ YY) over the two-digit year tokens
              sva            "The keys on the cabinet" → " are" / " is"; metric logit-diff
              factual        "The Eiffel Tower is in the city of" → " Paris" / another subject's answer

            Prints (or writes to --out) JSON: {"task", "metric", "n", "seed", "token_lengths" (length → pairs),
            "pairs": [{"clean", "corrupt", "answer", "wrong", "answer_ids", "wrong_ids", "n_tokens", "clean_tokens",
            "corrupt_tokens"}]} (ioi adds "order", "corruption", "flipped").

              --model DIR         use this folder's tokenizer (default: GPT-2's r50k_base)
            """ + TaskInputs.DATASET_HELP + """
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "seeded prompt pairs of a task (ioi, greater-than, sva, factual) as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        if (args.isEmpty() || args.get(0).startsWith("--")) {
            throw new IllegalArgumentException("name a task first: loupe dataset " + TaskInputs.TASKS.replace(", ", "|")
                    + " [...]");
        }
        String task = args.get(0);
        Set<String> valued = new HashSet<>(TaskInputs.DATASET_FLAGS);
        valued.addAll(Set.of("--model", "--out"));
        Args a = Args.parse("dataset", args.subList(1, args.size()), valued, Set.of("--flipped"));
        Gpt2Tokenizer tok = a.has("--model") ? ModelInputs.tokenizer(ModelInputs.folder(a)) : Gpt2Tokenizer.r50kBase();
        TaskDataset d = TaskInputs.dataset(task, a, tok);

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("task", d.task());
        out.put("metric", d.metric().cliName);
        out.put("n", d.size());
        out.put("seed", a.longValue("--seed", 0));
        if (task.equals("ioi")) {
            out.put("order", a.has("--order") ? a.get("--order") : "mixed");
            out.put("corruption", a.has("--corruption") ? a.get("--corruption") : "abc");
            out.put("flipped", a.has("--flipped"));
        }
        Map<String, Object> lengths = new LinkedHashMap<>();
        for (TaskDataset g : d.byLength()) lengths.put(Integer.toString(g.tokenLength()), g.size());
        out.put("token_lengths", lengths);
        List<Object> pairs = new ArrayList<>();
        for (TaskPair p : d.pairs()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("clean", p.clean());
            e.put("corrupt", p.corrupted());
            e.put("answer", p.answer());
            e.put("wrong", p.wrong());
            e.put("answer_ids", p.answerIds());
            e.put("wrong_ids", p.wrongIds());
            e.put("n_tokens", p.length());
            e.put("clean_tokens", p.cleanIds());
            e.put("corrupt_tokens", p.corruptedIds());
            pairs.add(e);
        }
        out.put("pairs", pairs);
        InterpInputs.emit(a, out);
        return 0;
    }
}
