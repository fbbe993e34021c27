package dev.loupe.cli;

import dev.loupe.interp.patching.PairSweeps;
import dev.loupe.interp.patching.PromptPairs;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe patch}: an activation-patching sweep of one clean/corrupted prompt pair, as JSON. */
final class PatchCommand implements Command {
    static final String HELP = """
            usage: loupe patch --model DIR (--clean TEXT | --clean-tokens 1,2,3) (--corrupt TEXT | --corrupt-tokens ..)
                               (--answer TEXT | --answer-id N) (--wrong TEXT | --wrong-id N) --activation KIND
                               [--direction denoise|noise] [--prepend-bos] [--out FILE.json]

            Patches one activation at a time from the source run into the target run (denoise: clean into corrupted;
            noise: corrupted into clean) and measures the logit difference answer − wrong at the last position.
            Clean and corrupted prompts must have the same number of tokens.

            KIND and the result's dims:
              resid_pre, resid_mid, resid_post, attn_out, mlp_out   [layer, pos]
              z, q, k, v, pattern                                   [layer, head] (every position at once)
              z_pos, q_pos, k_pos, v_pos, pattern_pos               [layer, head, pos] (pattern: query position)

            Prints (or writes to --out) JSON: {"dims", "labels" (one list per dim), "patched_logit_diff" (nested
            lists in dim order), "normalized" ((patched − corrupt) / (clean − corrupt); null when they are equal),
            "clean_logit_diff", "corrupt_logit_diff", "activation", "direction", "clean_tokens", "corrupt_tokens"}.

            """ + ModelInputs.MODEL_HELP + """
              --clean TEXT        the clean prompt (or --clean-tokens ids)
              --corrupt TEXT      the corrupted prompt (or --corrupt-tokens ids)
            """ + InterpInputs.ANSWER_HELP + """
              --activation KIND   what to patch (above)
              --direction D       denoise (default) or noise
              --prepend-bos       put <|endoftext|> before text prompts
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "activation patching sweep of a clean/corrupted prompt pair as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("patch", args, Set.of("--model", "--clean", "--clean-tokens", "--corrupt",
                "--corrupt-tokens", "--answer", "--answer-id", "--wrong", "--wrong-id", "--activation", "--direction",
                "--out"), Set.of("--prepend-bos"));
        String kind = a.require("--activation");
        PairSweeps.Direction direction = InterpInputs.direction(a);
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir); Autograd.Scope ignored = Autograd.noGrad()) {
            int[] clean = InterpInputs.prompt(a, "--clean", tok, model);
            int[] corrupt = InterpInputs.prompt(a, "--corrupt", tok, model);
            if (clean.length != corrupt.length) {
                throw new IllegalArgumentException("the clean prompt is " + clean.length + " tokens but the corrupted "
                        + "one is " + corrupt.length + ": patching needs prompts of the same length");
            }
            int answer = InterpInputs.token(a, "--answer", tok, model);
            int wrong = InterpInputs.token(a, "--wrong", tok, model);
            PromptPairs pairs = PromptPairs.of(List.of(clean), List.of(corrupt), new int[] {answer},
                    new int[] {wrong});
            PairSweeps.Result r = sweep(model, pairs, kind, direction);

            Map<String, Object> out = new LinkedHashMap<>();
            out.put("activation", kind);
            out.put("direction", TaskInputs.lower(direction));
            out.put("dims", r.dims());
            List<Object> labels = new ArrayList<>();
            int[] target = direction == PairSweeps.Direction.DENOISE ? corrupt : clean;
            for (String d : r.dims()) {
                labels.add(switch (d) {
                    case "layer" -> InterpInputs.indexLabels(model.config().nLayers());
                    case "head" -> InterpInputs.indexLabels(model.config().nHeads());
                    default -> InterpInputs.tokenLabels(tok, target);
                });
            }
            out.put("labels", labels);
            Tensor patched = r.perPrompt().select(0, 0);
            out.put("patched_logit_diff", InterpInputs.nested(patched));
            float c = r.clean()[0], k = r.corrupted()[0];
            out.put("normalized", c == k ? null : InterpInputs.nested(r.normalizedPerPrompt().select(0, 0)));
            out.put("clean_logit_diff", c);
            out.put("corrupt_logit_diff", k);
            out.put("clean_tokens", clean);
            out.put("corrupt_tokens", corrupt);
            InterpInputs.emit(a, out);
            return 0;
        }
    }

    private static PairSweeps.Result sweep(Gpt2Model model, PromptPairs pairs, String kind,
                                           PairSweeps.Direction direction) {
        ActivationKind k = ActivationKind.parse(kind, model.config(), false);
        return k.stream() != null ? PairSweeps.streamByPosition(model, pairs, k.stream(), direction)
                : PairSweeps.heads(model, pairs, k.head(), k.byPosition(), direction);
    }
}
