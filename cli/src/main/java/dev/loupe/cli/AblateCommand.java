package dev.loupe.cli;

import dev.loupe.interp.ablation.Ablation;
import dev.loupe.interp.ablation.Ablator;
import dev.loupe.interp.ablation.Target;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.Metrics;
import dev.loupe.tensor.Autograd;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe ablate}: ablate each head (or each layer's attention or MLP output) in turn, as JSON. */
final class AblateCommand implements Command {
    static final String HELP = """
            usage: loupe ablate --model DIR (--prompt TEXT | --prompt-tokens 1,2,3) (--answer TEXT | --answer-id N)
                                (--wrong TEXT | --wrong-id N) [--target heads|attn|mlp] [--ablation zero|mean]
                                [--reference TEXT ...] [--prepend-bos] [--out FILE.json]

            Ablates one component at a time, at every position, and measures the logit difference answer − wrong at
            the last position. heads: each head's output (hook_z) → dims [layer, head]; attn / mlp: each layer's
            hook_attn_out / hook_mlp_out → dims [layer]. zero replaces with 0; mean with the mean over the
            --reference prompts (repeat the flag; aligned from their first token, each must be at least as long as
            the prompt). JSON: {"dims", "labels", "ablated_logit_diff" (nested in dim order), "logit_diff"
            (unablated), "target", "ablation"}.

            """ + ModelInputs.MODEL_HELP + """
              --prompt TEXT       the prompt (or --prompt-tokens ids)
            """ + InterpInputs.ANSWER_HELP + """
              --target T          heads (default), attn or mlp
              --ablation A        zero (default) or mean
              --reference TEXT    a reference prompt for mean ablation (repeatable)
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "ablate each head or layer output in turn and report the logit difference as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("ablate", args, Set.of("--model", "--prompt", "--prompt-tokens", "--answer",
                "--answer-id", "--wrong", "--wrong-id", "--target", "--ablation", "--reference", "--out"),
                Set.of("--prepend-bos"));
        String target = a.has("--target") ? a.get("--target") : "heads";
        String kind = a.has("--ablation") ? a.get("--ablation") : "zero";
        if (!List.of("heads", "attn", "mlp").contains(target)) {
            throw new IllegalArgumentException("--target: expected heads, attn or mlp but got '" + target + "'");
        }
        if (!List.of("zero", "mean").contains(kind)) {
            throw new IllegalArgumentException("--ablation: expected zero or mean but got '" + kind + "'");
        }
        if (kind.equals("mean") == a.all("--reference").isEmpty()) {
            throw new IllegalArgumentException(kind.equals("mean") ? "--ablation mean needs --reference prompts"
                    : "--reference is only for --ablation mean");
        }
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir); Autograd.Scope ignored = Autograd.noGrad()) {
            int[] ids = InterpInputs.prompt(a, "--prompt", tok, model);
            int answer = InterpInputs.token(a, "--answer", tok, model), wrong = InterpInputs.token(a, "--wrong", tok,
                    model);
            if (target.equals("mlp") && model.config().attnOnly()) {
                throw new IllegalArgumentException("--target mlp: this model has no MLPs");
            }
            List<int[]> refs = new ArrayList<>();
            for (String r : a.all("--reference")) refs.add(tok.encode(r, a.has("--prepend-bos")));
            Ablation how = kind.equals("zero") ? new Ablation.Zero() : new Ablation.Mean(refs);
            Metric metric = Metrics.logitDiff(new int[] {answer}, new int[] {wrong});
            TokenBatch batch = TokenBatch.of(ids);
            int layers = model.config().nLayers(), heads = model.config().nHeads();
            List<Object> values = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                if (target.equals("heads")) {
                    // Every head of a layer reads the same point: run the references once per layer, not per head.
                    Ablation.Spec first = new Ablation.Spec(new Target.Head(l, 0, null), how);
                    Ablation layerHow = Ablator.resolve(model, batch, first).ablation();
                    List<Object> row = new ArrayList<>();
                    for (int h = 0; h < heads; h++) {
                        row.add(measure(model, batch, metric, new Target.Head(l, h, null), layerHow));
                    }
                    values.add(row);
                } else {
                    String point = target.equals("attn") ? HookNames.attnOut(l) : HookNames.mlpOut(l);
                    values.add(measure(model, batch, metric, new Target.Stream(point, null), how));
                }
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("target", target);
            out.put("ablation", kind);
            out.put("dims", target.equals("heads") ? List.of("layer", "head") : List.of("layer"));
            out.put("labels", target.equals("heads")
                    ? List.of(InterpInputs.indexLabels(layers), InterpInputs.indexLabels(heads))
                    : List.of(InterpInputs.indexLabels(layers)));
            out.put("ablated_logit_diff", values);
            out.put("logit_diff", metric.apply(model.forward(batch)).item());
            out.put("tokens", ids);
            InterpInputs.emit(a, out);
            return 0;
        }
    }

    private static float measure(Gpt2Model model, TokenBatch batch, Metric metric, Target t, Ablation how) {
        return metric.apply(Ablator.run(model, batch, List.of(new Ablation.Spec(t, how))).logits()).item();
    }
}
