package dev.loupe.cli;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.weights.json.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe fill-mask}: a masked-LM BERT's most likely tokens at each [MASK] of a text. */
final class FillMaskCommand implements Command {
    static final String HELP = """
            usage: loupe fill-mask --model DIR --text TEXT [--top-k 5]

            Prints JSON {"tokens": [...], "masks": [{"position", "top": [{"token", "id", "prob"}, ...]}]}:
            for each [MASK] in TEXT (its position among the tokens, [CLS] being 0), the top-k tokens, most
            likely first; prob is the softmax over the whole vocabulary at that position.

              --model DIR         a Hugging Face BertForMaskedLM folder (config.json, the weights with
                                  cls.predictions.*, tokenizer.json or vocab.txt); sentence encoders
                                  (minilm, bge-small, .onnx exports) have no MLM head
              --text TEXT         the text, with one or more [MASK] (the tokenizer's mask token)
              --top-k K           how many tokens to list per mask (default 5)
            """;

    @Override
    public String summary() {
        return "top-k tokens at each [MASK] of a text (BERT masked LM), as JSON";
    }

    @Override
    public int run(List<String> args) {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("fill-mask", args, Set.of("--model", "--text", "--top-k"), Set.of());
        String spec = a.require("--model");
        String text = a.require("--text");
        int k = a.intValue("--top-k", 5, 1);
        if (!EncoderInputs.isEncoder(spec)) {
            throw new IllegalArgumentException("--model " + spec + " is not a BERT model (a folder whose config.json "
                    + "has model_type bert)");
        }
        EncoderInputs.Encoder enc = EncoderInputs.load(spec);
        if (enc.model().weights().mlm() == null) {
            throw new IllegalArgumentException("model " + spec + " has no masked-LM head (cls.predictions.*): "
                    + "fill-mask needs a BertForMaskedLM checkpoint");
        }
        int maskId;
        try {
            maskId = enc.tokenizer().maskId();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("the tokenizer of " + spec + " has no mask token");
        }
        Encoding e = enc.encode(text);
        int[] ids = e.ids();
        List<Integer> masks = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) if (ids[i] == maskId) masks.add(i);
        if (masks.isEmpty()) {
            throw new IllegalArgumentException("the text has no " + enc.tokenizer().token(maskId) + " token"
                    + (ids.length == enc.model().config().nCtx() ? " within the model's context of "
                    + enc.model().config().nCtx() + " tokens" : ""));
        }
        k = Math.min(k, enc.model().config().dVocab());
        Tensor logits;
        try (var off = Autograd.noGrad()) {
            logits = enc.model().runMaskedLm(BertInput.of(List.of(e)), Hooks.none()).logits().select(0, 0);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int pos : masks) {
            float[] row = logits.select(0, pos).toFloatArray();
            double[] prob = LogitsCommand.probabilities(row);
            List<Map<String, Object>> top = new ArrayList<>();
            for (int id : LogitsCommand.topK(row, k)) {
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("token", tokenText(enc, id));
                t.put("id", id);
                t.put("prob", prob[id]);
                top.add(t);
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("position", pos);
            m.put("top", top);
            out.add(m);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("tokens", List.of(e.tokens()));
        json.put("masks", out);
        System.out.println(Json.write(json));
        return 0;
    }

    /** The vocabulary string of {@code id}, or null for a model row the tokenizer has no token for. */
    private static String tokenText(EncoderInputs.Encoder enc, int id) {
        try {
            return enc.tokenizer().token(id);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
