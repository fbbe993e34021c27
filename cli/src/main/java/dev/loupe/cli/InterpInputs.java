package dev.loupe.cli;

import dev.loupe.interp.patching.PairSweeps;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the interpretability commands share: prompts given as text or ids under any flag name, answer tokens, nested
 * JSON lists from tensors, and writing the result to {@code --out} or stdout.
 */
final class InterpInputs {
    private InterpInputs() {
    }

    static final String ANSWER_HELP = """
              --answer TEXT       the correct next token (one token, e.g. " Mary"), or --answer-id N
              --wrong TEXT        the wrong next token the logit difference subtracts, or --wrong-id N
            """;

    /**
     * {@code --direction denoise|noise} (default denoise): denoise patches clean activations into the corrupted run,
     * noise corrupted ones into the clean run.
     */
    static PairSweeps.Direction direction(Args a) {
        return switch (a.has("--direction") ? a.get("--direction") : "denoise") {
            case "denoise" -> PairSweeps.Direction.DENOISE;
            case "noise" -> PairSweeps.Direction.NOISE;
            default -> throw new IllegalArgumentException("--direction: expected denoise or noise but got '"
                    + a.get("--direction") + "'");
        };
    }

    /** Ids of a prompt given as {@code <flag> TEXT} or {@code <flag>-tokens 1,2,3}, checked against the model. */
    static int[] prompt(Args a, String flag, Gpt2Tokenizer tok, Gpt2Model model) {
        String tokensFlag = flag + "-tokens";
        if (a.has(flag) == a.has(tokensFlag)) {
            throw new IllegalArgumentException("give exactly one of " + flag + " TEXT and " + tokensFlag + " 1,2,3");
        }
        int[] ids = a.has(flag) ? tok.encode(a.get(flag), a.has("--prepend-bos"))
                : ModelInputs.parseTokens(a.get(tokensFlag));
        if (ids.length == 0) throw new IllegalArgumentException(flag + " is empty");
        checkIds(ids, model, flag);
        if (ids.length > model.config().nCtx()) {
            throw new IllegalArgumentException(flag + " is " + ids.length + " tokens but the model's context is "
                    + model.config().nCtx());
        }
        return ids;
    }

    /** One token id from {@code <flag> TEXT} (which must encode to exactly one token) or {@code <flag>-id N}. */
    static int token(Args a, String flag, Gpt2Tokenizer tok, Gpt2Model model) {
        String idFlag = flag + "-id";
        if (a.has(flag) == a.has(idFlag)) {
            throw new IllegalArgumentException("give exactly one of " + flag + " TEXT and " + idFlag + " N");
        }
        int id;
        if (a.has(flag)) {
            int[] ids = tok.encode(a.get(flag));
            if (ids.length != 1) {
                throw new IllegalArgumentException(flag + " \"" + a.get(flag) + "\" is " + ids.length
                        + " tokens " + java.util.Arrays.toString(ids) + ", not one (try a leading space, or "
                        + idFlag + ")");
            }
            id = ids[0];
        } else {
            id = a.intValue(idFlag, 0, 0);
        }
        checkIds(new int[] {id}, model, flag);
        return id;
    }

    private static void checkIds(int[] ids, Gpt2Model model, String flag) {
        for (int id : ids) {
            if (id >= model.config().dVocab()) {
                throw new IllegalArgumentException(flag + ": token id " + id + " is outside the model's vocabulary (0.."
                        + (model.config().dVocab() - 1) + ")");
            }
        }
    }

    /** Labels of positions: each token's text (null for ids the tokenizer does not know). */
    static List<String> tokenLabels(Gpt2Tokenizer tok, int[] ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(LogitsCommand.tokenText(tok, id));
        return out;
    }

    /** 0..n-1 as labels. */
    static List<Integer> indexLabels(int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(i);
        return out;
    }

    /** A tensor as nested lists in dim order (a scalar as a number). */
    static Object nested(Tensor t) {
        float[] v = t.contiguous().toFloatArray();
        return nested(v, t.shape(), 0, 0);
    }

    private static Object nested(float[] v, int[] shape, int dim, int offset) {
        if (dim == shape.length) return v[offset];
        int stride = 1;
        for (int d = dim + 1; d < shape.length; d++) stride *= shape[d];
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < shape[dim]; i++) out.add(nested(v, shape, dim + 1, offset + i * stride));
        return out;
    }

    /** Writes the JSON to {@code --out} (replacing it), or prints it. */
    static void emit(Args a, Map<String, Object> json) throws IOException {
        String text = Json.write(json);
        if (a.has("--out")) AtomicFiles.writeString(Path.of(a.get("--out")), text + "\n");
        else System.out.println(text);
    }
}
