package dev.loupe.cli;

import dev.loupe.interp.detect.DetectionPatterns;
import dev.loupe.interp.detect.HeadDetector;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe heads}: head-detector scores on repeated random tokens, [layer, head] as JSON. */
final class HeadsCommand implements Command {
    static final String HELP = """
            usage: loupe heads --model DIR --detect induction|previous|duplicate|prefix [--seq N] [--batch B]
                               [--seed S] [--offset K] [--out FILE.json]

            Runs prompts of a BOS token (<|endoftext|>) followed by N random tokens and the same N tokens again, and
            scores each head by the attention its queries put on their targets, averaged over the queries that
            have one and over the prompts (1 for a perfect head, about 1/pos for a uniform one):
              previous    the token before the query
              duplicate   earlier copies of the query's token
              induction   the token K after an earlier copy of the query's token (K = --offset, default 1)
              prefix      in the second half, the token after the query's copy in the first half

            Prints (or writes to --out) JSON: {"detector", "dims": ["layer", "head"], "labels", "scores", "seq",
            "batch", "seed", "offset", "bos"}.

            """ + ModelInputs.MODEL_HELP + """
              --detect D          the detector (above)
              --seq N             length of the repeated random segment (default 20, or what the context allows)
              --batch B           how many prompts (default 8)
              --seed S            seed of the random tokens (default 0)
              --offset K          induction: attend to the token K after the earlier copy (default 1)
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "head detectors (induction, previous, duplicate, prefix) as [layer, head] JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("heads", args, Set.of("--model", "--detect", "--seq", "--batch", "--seed", "--offset",
                "--out"), Set.of());
        String detector = a.require("--detect");
        if (!List.of("induction", "previous", "duplicate", "prefix").contains(detector)) {
            throw new IllegalArgumentException("--detect: expected induction, previous, duplicate or prefix but got '"
                    + detector + "'");
        }
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir)) {
            int ctx = model.config().nCtx(), vocab = model.config().dVocab();
            int seq = a.intValue("--seq", Math.min(20, (ctx - 1) / 2), 1);
            if (1 + 2 * seq > ctx) {
                throw new IllegalArgumentException("--seq " + seq + " makes prompts of " + (1 + 2 * seq)
                        + " tokens but the model's context is " + ctx);
            }
            int batch = a.intValue("--batch", 8, 1);
            long seed = a.longValue("--seed", 0);
            int offset = a.intValue("--offset", 1, 0);
            if (!detector.equals("induction") && a.has("--offset")) {
                throw new IllegalArgumentException("--offset applies to --detect induction only");
            }
            int bos = bos(tok, vocab);
            // random tokens: every id but BOS (the ids below it, or above it when it is id 0)
            int first = bos == 0 ? 1 : 0, count = bos == 0 ? vocab - 1 : bos;
            TokenBatch prompts = TokenBatch.of(DetectionPatterns.repeatedRandomTokens(new Rng(seed), batch, seq, bos,
                    first, count));
            Tensor scores = switch (detector) {
                case "previous" -> HeadDetector.previousToken(model, prompts);
                case "duplicate" -> HeadDetector.duplicateToken(model, prompts);
                case "induction" -> HeadDetector.induction(model, prompts, offset);
                default -> HeadDetector.prefixMatching(model, prompts, seq);
            };
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("detector", detector);
            out.put("dims", List.of("layer", "head"));
            out.put("labels", List.of(InterpInputs.indexLabels(model.config().nLayers()),
                    InterpInputs.indexLabels(model.config().nHeads())));
            out.put("scores", InterpInputs.nested(scores));
            out.put("seq", seq);
            out.put("batch", batch);
            out.put("seed", seed);
            out.put("offset", detector.equals("induction") ? offset : null);
            out.put("bos", bos);
            InterpInputs.emit(a, out);
            return 0;
        }
    }

    /** The tokenizer's {@code <|endoftext|>} when the model's vocabulary has it, else id 0. */
    static int bos(Gpt2Tokenizer tok, int vocab) {
        Integer id = tok.specialTokens().get(Gpt2Tokenizer.END_OF_TEXT);
        return id != null && id < vocab ? id : 0;
    }
}
