package dev.loupe.cli;

import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the model commands share: the {@code --model} folder, its tokenizer and model, and the prompt as ids from
 * {@code --prompt TEXT} or {@code --tokens 1,2,3}, each checked so that a user mistake is a one-line usage error.
 */
final class ModelInputs {
    private ModelInputs() {
    }

    static final String MODEL_HELP = "  --model DIR         a Hugging Face GPT-2 folder (config.json + model.safetensors or\n"
            + "                      pytorch_model.bin); tokenizer.json or vocab.json + merges.txt if\n"
            + "                      present, else GPT-2's own vocabulary\n";

    /** The {@code --model} folder, which must exist. */
    static Path folder(Args a) {
        Path dir = Path.of(a.require("--model"));
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model folder " + dir + (Files.exists(dir) ? " is not a folder"
                    : " does not exist"));
        }
        return dir;
    }

    static Gpt2Tokenizer tokenizer(Path dir) {
        try {
            return Gpt2Tokenizer.fromFolder(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the tokenizer in " + dir + ": " + e.getMessage());
        }
    }

    static Gpt2Model model(Path dir) {
        try {
            return Gpt2Model.load(dir);
        } catch (IOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "missing " + e.getMessage() : e.getMessage();
            throw new IllegalArgumentException("cannot load a GPT-2 model from " + dir + ": " + why);
        }
    }

    /**
     * The prompt's ids: {@code --tokens} (comma-separated ids) or {@code --prompt} text, with {@code <|endoftext|>}
     * first under {@code --prepend-bos}; checked against the vocabulary and the context length.
     */
    static int[] promptIds(Args a, Gpt2Tokenizer tok, Gpt2Model model, boolean allowTokens) {
        boolean hasTokens = allowTokens && a.has("--tokens");
        if (hasTokens == a.has("--prompt")) {
            throw new IllegalArgumentException(allowTokens ? "give exactly one of --prompt TEXT and --tokens 1,2,3"
                    : "--prompt is required");
        }
        int[] ids;
        if (hasTokens) {
            ids = parseTokens(a.get("--tokens"));
            if (a.has("--prepend-bos")) ids = prepend(bos(tok), ids);
        } else {
            ids = tok.encode(a.get("--prompt"), a.has("--prepend-bos"));
        }
        if (ids.length == 0) throw new IllegalArgumentException("the prompt is empty (give text, or --prepend-bos)");
        int vocab = model.config().dVocab(), ctx = model.config().nCtx();
        for (int id : ids) {
            if (id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the model's vocabulary (0.."
                        + (vocab - 1) + ")");
            }
        }
        if (ids.length > ctx) {
            throw new IllegalArgumentException("the prompt is " + ids.length + " tokens but the model's context is "
                    + ctx);
        }
        return ids;
    }

    static int[] parseTokens(String text) {
        String[] parts = text.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--tokens expects comma-separated ids like 464,3290 but got '"
                        + text + "'");
            }
            if (ids[i] < 0) throw new IllegalArgumentException("--tokens: token id " + ids[i] + " is negative");
        }
        return ids;
    }

    static int bos(Gpt2Tokenizer tok) {
        Integer id = tok.specialTokens().get(Gpt2Tokenizer.END_OF_TEXT);
        if (id == null) throw new IllegalArgumentException("--prepend-bos: the tokenizer has no <|endoftext|>");
        return id;
    }

    private static int[] prepend(int first, int[] ids) {
        int[] out = new int[ids.length + 1];
        out[0] = first;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }
}
