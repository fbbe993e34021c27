package dev.loupe.cli;

import dev.loupe.interp.lens.LogitLens;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe lens}: the logit lens of one prompt, as JSON. */
final class LensCommand implements Command {
    static final String HELP = """
            usage: loupe lens --model DIR (--prompt TEXT | --prompt-tokens 1,2,3) [--top-k 5] [--mid]
                              [(--answer TEXT | --answer-id N) [(--wrong TEXT | --wrong-id N)]] [--prepend-bos]
                              [--out FILE.json]

            The residual stream before each layer (and after the last), read through the final LayerNorm and the
            unembedding. JSON: {"dims": ["point", "pos"], "labels" (points 0_pre .. final_post, then the tokens),
            "top_ids" and "top_tokens" ([point][pos][k], most likely first), "top_logits"; with --answer:
            "answer_prob" [point][pos]; with --wrong too: "logit_diff" [point][pos]}. final_post is the model's
            own output.

            """ + ModelInputs.MODEL_HELP + """
              --prompt TEXT       the prompt (or --prompt-tokens ids)
              --top-k K           tokens listed per point and position (default 5)
              --mid               add each layer's mid point (after attention)
            """ + InterpInputs.ANSWER_HELP + """
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "logit lens of a prompt (top tokens, answer probability, logit difference per layer) as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("lens", args, Set.of("--model", "--prompt", "--prompt-tokens", "--top-k", "--answer",
                "--answer-id", "--wrong", "--wrong-id", "--out"), Set.of("--mid", "--prepend-bos"));
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir); Autograd.Scope ignored = Autograd.noGrad()) {
            int[] ids = InterpInputs.prompt(a, "--prompt", tok, model);
            int k = Math.min(a.intValue("--top-k", 5, 1), model.config().dVocab());
            LogitLens lens = new LogitLens(model, model.run(TokenBatch.of(ids), Hooks.cacheAll()).cache(),
                    a.has("--mid"));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("dims", List.of("point", "pos"));
            out.put("labels", List.of(lens.labels(), InterpInputs.tokenLabels(tok, ids)));
            Tensor.TopK top = lens.topK(k);
            Tensor topIds = top.indices().select(1, 0); // [point, pos, k]
            out.put("top_ids", InterpInputs.nested(topIds));
            out.put("top_tokens", tokens(tok, topIds));
            out.put("top_logits", InterpInputs.nested(top.values().select(1, 0)));
            if (a.has("--answer") || a.has("--answer-id")) {
                int answer = InterpInputs.token(a, "--answer", tok, model);
                out.put("answer_prob", InterpInputs.nested(lens.tokenProb(answer).select(1, 0)));
                if (a.has("--wrong") || a.has("--wrong-id")) {
                    int wrong = InterpInputs.token(a, "--wrong", tok, model);
                    out.put("logit_diff", InterpInputs.nested(lens.logitDiff(answer, wrong).select(1, 0)));
                }
            }
            out.put("tokens", ids);
            InterpInputs.emit(a, out);
            return 0;
        }
    }

    /** ids [point, pos, k] → their token texts, nested the same way. */
    private static List<Object> tokens(Gpt2Tokenizer tok, Tensor ids) {
        List<Object> points = new ArrayList<>();
        for (int p = 0; p < ids.size(0); p++) {
            List<Object> positions = new ArrayList<>();
            for (int i = 0; i < ids.size(1); i++) {
                List<String> ks = new ArrayList<>();
                for (int j = 0; j < ids.size(2); j++) ks.add(LogitsCommand.tokenText(tok, (int) ids.get(p, i, j)));
                positions.add(ks);
            }
            points.add(positions);
        }
        return points;
    }
}
