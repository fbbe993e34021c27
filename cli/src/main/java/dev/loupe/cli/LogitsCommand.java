package dev.loupe.cli;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe logits}: the most likely next tokens after a prompt, with logits and probabilities. */
final class LogitsCommand implements Command {
    static final String HELP = """
            usage: loupe logits --model DIR (--prompt TEXT | --tokens 1,2,3) [--top-k 10] [--prepend-bos]

            Prints JSON: {"tokens": [...], "top": [{"id", "token", "logit", "prob"}, ...]}, the top-k next
            tokens at the last position, most likely first; prob is the softmax over the whole vocabulary.

            """ + ModelInputs.MODEL_HELP + """
              --prompt TEXT       the prompt as text
              --tokens 1,2,3      the prompt as token ids
              --top-k K           how many tokens to list (default 10)
              --prepend-bos       put <|endoftext|> before the prompt
            """;

    @Override
    public String summary() {
        return "top-k next tokens after a prompt (id, token, logit, prob) as JSON";
    }

    @Override
    public int run(List<String> args) {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("logits", args, Set.of("--model", "--prompt", "--tokens", "--top-k"),
                Set.of("--prepend-bos"));
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir); Autograd.Scope ignored = Autograd.noGrad()) {
            int[] ids = ModelInputs.promptIds(a, tok, model, true);
            int k = Math.min(a.intValue("--top-k", 10, 1), model.config().dVocab());
            float[] last = model.forward(TokenBatch.of(ids)).select(1, ids.length - 1).toFloatArray(); // [d_vocab]
            double[] prob = probabilities(last);
            List<Map<String, Object>> top = new ArrayList<>();
            for (int id : topK(last, k)) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("id", id);
                e.put("token", tokenText(tok, id));
                e.put("logit", last[id]);
                e.put("prob", prob[id]);
                top.add(e);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("tokens", ids);
            out.put("top", top);
            System.out.println(Json.write(out));
            return 0;
        }
    }

    /** The token's text, or null for an id the tokenizer does not know (a model vocabulary larger than it). */
    static String tokenText(Gpt2Tokenizer tok, int id) {
        try {
            return tok.tokenToString(id);
        } catch (IllegalArgumentException unknown) {
            return null;
        }
    }

    /** Ids of the k largest values, largest first, lower id first among equals ({@link Tensor#topK}'s order). */
    static int[] topK(float[] v, int k) {
        float[] ids = Tensor.wrap(v, v.length).topK(k, 0, true).indices().toFloatArray();
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = (int) ids[i];
        return out;
    }

    /** Softmax of one row of logits, in double precision (max subtracted first). */
    static double[] probabilities(float[] logits) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : logits) max = Math.max(max, v);
        for (float v : logits) sum += Math.exp(v - max);
        double[] p = new double[logits.length];
        for (int i = 0; i < logits.length; i++) p[i] = Math.exp(logits[i] - max) / sum;
        return p;
    }
}
