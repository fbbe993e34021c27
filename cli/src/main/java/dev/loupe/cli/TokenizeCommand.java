package dev.loupe.cli;

import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.json.Json;
import java.util.List;
import java.util.Set;

/** {@code loupe tokenize --model DIR --text TEXT [--prepend-bos]}: prints the token ids as a JSON list. */
final class TokenizeCommand implements Command {
    static final String HELP = """
            usage: loupe tokenize --model DIR --text TEXT [--prepend-bos]

            Prints the token ids of TEXT as a JSON list, e.g. [15496,995].

            """ + ModelInputs.MODEL_HELP + """
              --text TEXT         the text to encode (<|endoftext|> in it is the special token)
              --prepend-bos       put <|endoftext|> first, as TransformerLens does for GPT-2
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
        Gpt2Tokenizer tok = ModelInputs.tokenizer(ModelInputs.folder(a));
        System.out.println(Json.write(tok.encode(a.require("--text"), a.has("--prepend-bos"))));
        return 0;
    }
}
