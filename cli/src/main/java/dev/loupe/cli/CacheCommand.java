package dev.loupe.cli;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.SafeTensors;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** {@code loupe cache}: runs one prompt and saves its activations (and gradients) to a safetensors file. */
final class CacheCommand implements Command {
    static final String HELP = """
            usage: loupe cache --model DIR (--prompt TEXT | --tokens 1,2,3) --out FILE.safetensors
                               [--names REGEX] [--grad-of loss|logit:ID|logit-diff:ID,ID] [--prepend-bos]

            Runs the prompt once and writes every selected activation under its hook name (e.g.
            blocks.0.hook_resid_pre), with its batch dim of 1, plus "logits" [1, pos, d_vocab], as float32.
            Prints {"file", "count", "bytes"}.

            """ + ModelInputs.MODEL_HELP + """
              --prompt TEXT       the prompt as text
              --tokens 1,2,3      the prompt as token ids
              --out FILE          the safetensors file to write (replaced atomically)
              --names REGEX       only hook points whose name contains a match (e.g. 'resid_pre|hook_pattern',
                                  'blocks\\.0\\.'); optional points such as attn.hook_result are computed when
                                  the regex selects them. Default: every standard point
              --grad-of WHAT      also write the gradient of a scalar at each selected point, as "grad:<name>":
                                    loss              mean next-token cross-entropy over the prompt
                                    logit:ID          logit of token ID at the last position
                                    logit-diff:A,B    logit of A minus logit of B at the last position
              --prepend-bos       put <|endoftext|> before the prompt

            BERT models (--model minilm | bge-small | a BERT folder | an .onnx file): the prompt is encoded as
            [CLS] TEXT [SEP] (--tokens are used as given); besides the hook points (embed.*, blocks.L.*,
            hook_pooled ...) the file holds "hidden" [1, pos, d_model], "embedding" [1, d_model] and, for a
            masked-LM checkpoint, "logits" [1, pos, d_vocab]. --grad-of takes:
                                    embedding-norm    L2 norm of hook_pooled (the embedding before normalising)
                                    logit:ID          MLM logit of token ID at the one [MASK] (MLM checkpoints)
            """;

    @Override
    public String summary() {
        return "save a prompt's activations (and gradients) to safetensors";
    }

    @Override
    public int run(List<String> args) throws IOException {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("cache", args, Set.of("--model", "--prompt", "--tokens", "--out", "--names", "--grad-of"),
                Set.of("--prepend-bos"));
        Path out = Path.of(a.require("--out"));
        Path parent = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) throw new IllegalArgumentException("--out: folder " + parent + " does not exist");
        if (EncoderInputs.isEncoder(a.require("--model"))) return EncoderCache.run(a, out);
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir)) {
            int[] ids = ModelInputs.promptIds(a, tok, model, true);
            Objective objective = a.has("--grad-of") ? Objective.parse(a.get("--grad-of"), ids, model) : null;
            Hooks.Builder hb = Hooks.builder();
            if (a.has("--names")) {
                hb.cache(selector(a.get("--names"), model.hookPoints()));
            } else {
                hb.cacheAll();
            }
            if (objective != null) hb.cacheGradients();

            Gpt2Model.Output o = model.run(TokenBatch.of(ids), hb.build());
            if (objective != null) objective.of(o.logits()).backward();
            ActivationCache cache = o.cache();

            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : cache.names()) tensors.put(name, cache.get(name));
            tensors.put("logits", o.logits().detach());
            for (String name : cache.names()) if (cache.hasGrad(name)) tensors.put("grad:" + name, cache.grad(name));
            return write(out, tensors, dir.toString(), ids, a.get("--grad-of"));
        }
    }

    /** Writes the file (metadata: model, tokens, grad_of when given) and prints {"file", "count", "bytes"}. */
    static int write(Path out, Map<String, Tensor> tensors, String model, int[] ids, String gradOf)
            throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", model);
        meta.put("tokens", Json.write(ids));
        if (gradOf != null) meta.put("grad_of", gradOf);
        SafeTensors.write(out, tensors, meta);

        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("file", out.toString());
        summary.put("count", tensors.size());
        summary.put("bytes", Files.size(out));
        System.out.println(Json.write(summary));
        return 0;
    }

    /** Hook points whose name contains a match of {@code regex}; at least one of {@code points} must. */
    static Predicate<String> selector(String regex, List<String> points) {
        Pattern p;
        try {
            p = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("--names: '" + regex + "' is not a valid regex: " + e.getDescription());
        }
        Predicate<String> match = n -> p.matcher(n).find();
        if (points.stream().noneMatch(match)) {
            throw new IllegalArgumentException("--names '" + regex + "' matches no hook point (they look like "
                    + points.get(2) + ")");
        }
        return match;
    }

    /** The scalar of {@code --grad-of}, computed from logits [1, pos, d_vocab]. */
    record Objective(String kind, int a, int b, int[] ids) {
        static Objective parse(String spec, int[] ids, Gpt2Model model) {
            int vocab = model.config().dVocab();
            if (spec.equals("loss")) {
                if (ids.length < 2) {
                    throw new IllegalArgumentException("--grad-of loss needs a prompt of at least 2 tokens");
                }
                return new Objective("loss", -1, -1, ids);
            }
            if (spec.startsWith("logit:")) {
                return new Objective("logit", id(spec, spec.substring(6), vocab), -1, ids);
            }
            if (spec.startsWith("logit-diff:")) {
                String[] p = spec.substring(11).split(",", -1);
                if (p.length != 2) {
                    throw new IllegalArgumentException("--grad-of logit-diff expects two ids, e.g. logit-diff:123,456");
                }
                return new Objective("diff", id(spec, p[0], vocab), id(spec, p[1], vocab), ids);
            }
            throw new IllegalArgumentException("--grad-of expects loss, logit:ID or logit-diff:ID,ID but got '"
                    + spec + "'");
        }

        static int id(String spec, String text, int vocab) {
            int id;
            try {
                id = Integer.parseInt(text.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--grad-of " + spec + ": '" + text + "' is not a token id");
            }
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("--grad-of " + spec + ": token id " + id + " is outside the "
                        + "model's vocabulary (0.." + (vocab - 1) + ")");
            }
            return id;
        }

        /** A scalar tensor (recorded, so {@code backward()} reaches the hook points). */
        Tensor of(Tensor logits) {
            int pos = logits.size(1);
            Tensor last = logits.select(0, 0).select(0, pos - 1); // [d_vocab]
            return switch (kind) {
                case "loss" -> {
                    int[] targets = java.util.Arrays.copyOfRange(ids, 1, ids.length);
                    yield logits.select(0, 0).narrow(0, 0, pos - 1).crossEntropy(Tensor.indices(targets));
                }
                case "logit" -> last.select(0, a);
                default -> last.select(0, a).sub(last.select(0, b));
            };
        }
    }
}
