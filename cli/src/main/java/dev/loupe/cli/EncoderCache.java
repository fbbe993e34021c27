package dev.loupe.cli;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code loupe cache} for a BERT encoder: the prompt as [CLS] text [SEP] (or {@code --tokens} as given), every selected
 * hook point, {@code hidden}, {@code embedding}, the MLM {@code logits} when the checkpoint has the head, and the
 * gradients of {@code --grad-of embedding-norm | logit:ID}. See {@link CacheCommand#HELP}.
 */
final class EncoderCache {
    private EncoderCache() {
    }

    static int run(Args a, Path out) throws IOException {
        if (a.has("--prepend-bos")) {
            throw new IllegalArgumentException("--prepend-bos is for GPT-2; a BERT encoding starts with [CLS]");
        }
        EncoderInputs.Encoder enc = EncoderInputs.load(a.get("--model"));
        BertModel model = enc.model();
        int[] ids = ids(a, enc);
        String gradOf = a.get("--grad-of");
        boolean mlm = model.weights().mlm() != null;
        int maskPos = -1, target = -1;
        if (gradOf != null) {
            if (gradOf.startsWith("logit:")) {
                if (!mlm) {
                    throw new IllegalArgumentException("--grad-of " + gradOf + " needs a masked-LM checkpoint; "
                            + a.get("--model") + " has no MLM head (use embedding-norm)");
                }
                target = CacheCommand.Objective.id(gradOf, gradOf.substring(6), model.config().dVocab());
                maskPos = onlyMask(ids, enc);
            } else if (!gradOf.equals("embedding-norm")) {
                throw new IllegalArgumentException("--grad-of for a BERT model expects embedding-norm or logit:ID "
                        + "but got '" + gradOf + "'");
            }
        }
        Hooks.Builder hb = Hooks.builder();
        if (a.has("--names")) {
            hb.cache(CacheCommand.selector(a.get("--names"), model.hookPoints()));
        } else {
            hb.cacheAll();
        }
        if (gradOf != null) hb.cacheGradients();
        BertInput input = BertInput.ofIds(ids);
        BertModel.Output o = mlm ? model.runMaskedLm(input, hb.build()) : model.run(input, hb.build());
        if (gradOf != null) {
            Tensor scalar = target >= 0 ? o.logits().select(0, 0).select(0, maskPos).select(0, target)
                    // The embedding before normalising, re-pooled from the last hidden state (same graph upstream).
                    : model.pooling().pool(o.hidden(), input.mask()).norm(2f, -1, false).sum();
            scalar.backward();
        }
        ActivationCache cache = o.cache();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String name : cache.names()) tensors.put(name, cache.get(name));
        tensors.put("hidden", o.hidden().detach());
        tensors.put("embedding", o.embedding().detach());
        if (mlm) tensors.put("logits", o.logits().detach());
        for (String name : cache.names()) if (cache.hasGrad(name)) tensors.put("grad:" + name, cache.grad(name));
        return CacheCommand.write(out, tensors, enc.name(), ids, gradOf);
    }

    /** {@code --tokens} as given, or {@code --prompt} as [CLS] text [SEP]; checked against vocabulary and context. */
    private static int[] ids(Args a, EncoderInputs.Encoder enc) {
        if (a.has("--tokens") == a.has("--prompt")) {
            throw new IllegalArgumentException("give exactly one of --prompt TEXT and --tokens 1,2,3");
        }
        int[] ids = a.has("--tokens") ? ModelInputs.parseTokens(a.get("--tokens")) : enc.encode(a.get("--prompt")).ids();
        int vocab = enc.model().config().dVocab(), ctx = enc.model().config().nCtx();
        for (int id : ids) {
            if (id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the model's vocabulary (0.."
                        + (vocab - 1) + ")");
            }
        }
        if (ids.length == 0) throw new IllegalArgumentException("--tokens is empty");
        if (ids.length > ctx) {
            throw new IllegalArgumentException("the prompt is " + ids.length + " tokens but the model's context is "
                    + ctx);
        }
        return ids;
    }

    private static int onlyMask(int[] ids, EncoderInputs.Encoder enc) {
        int maskId = enc.tokenizer().maskId(), pos = -1, count = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == maskId) {
                pos = i;
                count++;
            }
        }
        if (count != 1) {
            throw new IllegalArgumentException("--grad-of logit:ID reads the logit at the [MASK]: the prompt needs "
                    + "exactly one, it has " + count);
        }
        return pos;
    }
}
