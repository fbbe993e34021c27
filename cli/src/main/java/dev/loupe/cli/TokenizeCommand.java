package dev.loupe.cli;

import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.json.Json;
import java.util.List;
import java.util.Set;

/**
 * {@code loupe tokenize --model M --text TEXT [--prepend-bos]}: prints the token ids as a JSON list, with GPT-2's
 * byte-level BPE or, for a BERT encoder, its WordPiece tokenizer.
 */
final class TokenizeCommand implements Command {
    static final String HELP = """
            usage: loupe tokenize --model DIR --text TEXT [--prepend-bos]

            Prints the token ids of TEXT as a JSON list, e.g. [15496,995]. For a BERT model the ids are
            [CLS] TEXT [SEP] (truncated to the model's context), as the model reads them.

            """ + ModelInputs.MODEL_HELP + """
                                  or a BERT model:
            """ + EncoderInputs.MODEL_HELP + """
              --text TEXT         the text to encode (<|endoftext|>, or [MASK] ... for BERT, are special tokens)
              --prepend-bos       put <|endoftext|> first, as TransformerLens does for GPT-2 (GPT-2 only)
            """;

    @Override
    public String summary() {
        return "token ids of a text, as JSON";
    }

    @Override
    public int run(List<String> args) {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("tokenize", args, Set.of("--model", "--text"), Set.of("--prepend-bos"));
        if (EncoderInputs.isEncoder(a.require("--model"))) {
            if (a.has("--prepend-bos")) {
                throw new IllegalArgumentException("--prepend-bos is for GPT-2; a BERT encoding starts with [CLS]");
            }
            EncoderInputs.Encoder enc = EncoderInputs.load(a.get("--model"));
            System.out.println(Json.write(enc.encode(a.require("--text")).ids()));
            return 0;
        }
        Gpt2Tokenizer tok = ModelInputs.tokenizer(ModelInputs.folder(a));
        System.out.println(Json.write(tok.encode(a.require("--text"), a.has("--prepend-bos"))));
        return 0;
    }
}
