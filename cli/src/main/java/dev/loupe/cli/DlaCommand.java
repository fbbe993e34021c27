package dev.loupe.cli;

import dev.loupe.interp.cache.CacheAnalysis;
import dev.loupe.interp.cache.LabeledStack;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe dla}: direct logit attribution of the last position's logit difference, per head and per layer. */
final class DlaCommand implements Command {
    static final String HELP = """
            usage: loupe dla --model DIR (--prompt TEXT | --prompt-tokens 1,2,3) (--answer TEXT | --answer-id N)
                             (--wrong TEXT | --wrong-id N) [--prepend-bos] [--out FILE.json]

            How much each component writes in the direction W_U[answer] − W_U[wrong] at the last position, each
            scaled by the final LayerNorm's cached scale (frozen). JSON: {"heads": {"dims": ["layer", "head"],
            "labels", "attribution" [layer][head]} (b_O not included), "components": {"labels" (embed, pos_embed,
            L_attn_out, L_mlp_out), "attribution"}, "logit_diff" (the model's), "ln_bias_term" (the final
            LayerNorm's bias read in the same direction)}. components + ln_bias_term = logit_diff.

            """ + ModelInputs.MODEL_HELP + """
              --prompt TEXT       the prompt (or --prompt-tokens ids)
            """ + InterpInputs.ANSWER_HELP + """
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "direct logit attribution per head and per layer component as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("dla", args, Set.of("--model", "--prompt", "--prompt-tokens", "--answer", "--answer-id",
                "--wrong", "--wrong-id", "--out"), Set.of("--prepend-bos"));
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir); Autograd.Scope ignored = Autograd.noGrad()) {
            int[] ids = InterpInputs.prompt(a, "--prompt", tok, model);
            int[] answer = {InterpInputs.token(a, "--answer", tok, model)};
            int[] wrong = {InterpInputs.token(a, "--wrong", tok, model)};
            int layers = model.config().nLayers(), heads = model.config().nHeads(), last = ids.length - 1;
            Gpt2Model.Output run = model.run(TokenBatch.of(ids), Hooks.cacheAll());
            CacheAnalysis ca = new CacheAnalysis(model, run.cache());
            // [component, batch, pos] → the last position of the one prompt
            Tensor perHead = ca.logitAttrs(ca.stackHeadResults(layers, true), answer, wrong).select(1, 0)
                    .select(1, last);
            LabeledStack parts = ca.decomposeResid(layers, false, true);
            Tensor perComponent = ca.logitAttrs(parts, answer, wrong).select(1, 0).select(1, last);
            Tensor dir2 = ca.residDirections(answer).sub(ca.residDirections(wrong)).select(0, 0); // [d_model]
            float lnBias = model.weights().lnFinalB() == null ? 0 : dir2.mul(model.weights().lnFinalB()).sum().item();
            Tensor logits = run.logits().select(0, 0).select(0, last);

            Map<String, Object> h = new LinkedHashMap<>();
            h.put("dims", List.of("layer", "head"));
            h.put("labels", List.of(InterpInputs.indexLabels(layers), InterpInputs.indexLabels(heads)));
            h.put("attribution", InterpInputs.nested(perHead.reshape(layers, heads)));
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("labels", parts.labels());
            c.put("attribution", InterpInputs.nested(perComponent));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("heads", h);
            out.put("components", c);
            out.put("logit_diff", logits.get(answer[0]) - logits.get(wrong[0]));
            out.put("ln_bias_term", lnBias);
            out.put("tokens", ids);
            InterpInputs.emit(a, out);
            return 0;
        }
    }
}
