package dev.loupe.cli;

import dev.loupe.transformer.generate.Generation;
import dev.loupe.transformer.generate.GenerationConfig;
import dev.loupe.transformer.generate.Generator;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import dev.loupe.weights.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe generate}: continues a prompt with a GPT-2 model (KV cache, greedy or sampled). */
final class GenerateCommand implements Command {
    static final String HELP = """
            usage: loupe generate --model DIR --prompt TEXT [options]

            Prints the prompt followed by its continuation (greedy unless --temperature is above 0).

            """ + ModelInputs.MODEL_HELP + """
              --prompt TEXT         the text to continue
              --max-new-tokens N    most tokens to generate (default 20)
              --temperature T       0 = greedy (default); above 0 samples from softmax(logits / T)
              --top-k K             sample among the K most likely tokens only (default 0 = all)
              --top-p P             sample from the smallest set of tokens whose probability reaches P
                                    (nucleus sampling; default 1 = all)
              --seed S              seed of the sampling: same seed, same text (default 0)
              --stop TEXT|ID        stop after this token (an id, or a text that is one token); repeatable;
                                    <|endoftext|> always stops
              --prepend-bos         put <|endoftext|> before the prompt
              --json                print {"prompt", "prompt_ids", "ids", "text", "stopped"} instead, where ids
                                    and text are the generated part only
            """;

    @Override
    public String summary() {
        return "continue a prompt (greedy, temperature, top-k, top-p)";
    }

    @Override
    public int run(List<String> args) {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("generate", args, Set.of("--model", "--prompt", "--max-new-tokens", "--temperature",
                "--top-k", "--top-p", "--seed", "--stop"), Set.of("--prepend-bos", "--json"));
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir)) {
            int[] prompt = ModelInputs.promptIds(a, tok, model, false);
            int maxNew = a.intValue("--max-new-tokens", 20, 1);
            if (prompt.length + maxNew > model.config().nCtx()) {
                throw new IllegalArgumentException("the prompt is " + prompt.length + " tokens; with --max-new-tokens "
                        + maxNew + " that exceeds the model's context of " + model.config().nCtx());
            }
            GenerationConfig cfg = new GenerationConfig(maxNew, a.floatValue("--temperature", 0),
                    a.intValue("--top-k", 0, 0), a.floatValue("--top-p", 1), a.longValue("--seed", 0),
                    stopTokens(a, tok, model.config().dVocab()), false, -1);
            Generation g = new Generator(model).generate(List.of(prompt), cfg, Hooks.none()).get(0);
            String text = tok.decode(g.stopped() ? java.util.Arrays.copyOf(g.tokens(), g.tokens().length - 1)
                    : g.tokens());
            if (a.has("--json")) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("prompt", a.get("--prompt"));
                out.put("prompt_ids", prompt);
                out.put("ids", g.tokens());
                out.put("text", text);
                out.put("stopped", g.stopped());
                System.out.println(Json.write(out));
            } else {
                System.out.println(a.get("--prompt") + text);
            }
            return 0;
        }
    }

    /** {@code <|endoftext|>} (when the model has it) and each {@code --stop}, as ids. */
    private static List<Integer> stopTokens(Args a, Gpt2Tokenizer tok, int vocab) {
        List<Integer> ids = new ArrayList<>();
        Integer eot = tok.specialTokens().get(Gpt2Tokenizer.END_OF_TEXT);
        if (eot != null && eot < vocab) ids.add(eot);
        for (String s : a.all("--stop")) {
            int id;
            if (s.strip().matches("\\d+")) {
                id = Integer.parseInt(s.strip());
            } else {
                int[] enc = tok.encode(s);
                if (enc.length != 1) {
                    throw new IllegalArgumentException("--stop '" + s + "' is " + enc.length + " tokens "
                            + java.util.Arrays.toString(enc) + "; give one token's text or an id");
                }
                id = enc[0];
            }
            if (id >= vocab) {
                throw new IllegalArgumentException("--stop: token id " + id + " is outside the model's vocabulary (0.."
                        + (vocab - 1) + ")");
            }
            if (!ids.contains(id)) ids.add(id);
        }
        return ids;
    }
}
