package dev.loupe.cli;

import dev.loupe.interp.patching.PathPatching;
import dev.loupe.interp.patching.PathPatching.Receiver;
import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code loupe path-patch}: every head as the sender of a path-patching experiment, for one receiver set, as JSON. */
final class PathPatchCommand implements Command {
    static final String HELP = """
            usage: loupe path-patch --model DIR --receivers R[,R...] [--freeze-mlps]
                                    (--clean TEXT --corrupt TEXT --answer TEXT --wrong TEXT | --task T [--n N --seed S])
                                    [--metric logit-diff|prob-diff] [--out FILE.json]

            Path patching (Wang et al. 2022, appendix B) with each head in turn as the sender: the clean run with that
            head's output taken from the corrupted run and every other head frozen to its clean output (every MLP
            too under --freeze-mlps), the receivers cached, then the clean run with only the receivers patched and
            the metric measured. The metric is the mean over all pairs (run in one batch per token length).

            Receivers (repeat the flag or separate with commas):
              LlHhq, LlHhk, LlHhv   head h of layer l's query, key or value input, e.g. L3H0q
              LlHh                  head h of layer l's output (hook_z)
              Ll                    every head of layer l's query, key and value inputs
              final                 the final residual stream (direct paths to the logits)

            Prints (or writes to --out) JSON: {"dims": ["layer", "head"] (the sender), "labels", "patched_<metric>",
            "normalized" ((patched − corrupt) / (clean − corrupt); null when they are equal), "clean_<metric>",
            "corrupt_<metric>", "metric", "receivers", "freeze_mlps", "task", "pairs", "token_lengths"} where <metric>
            is logit_diff or prob_diff.

            """ + ModelInputs.MODEL_HELP + """
              --receivers R       the receiver set (above)
              --freeze-mlps       also freeze every MLP to its clean output
            """ + TaskInputs.PAIR_HELP + """
              --out FILE          write the JSON there instead of printing it
            """;

    private static final Pattern HEAD = Pattern.compile("L(\\d+)H(\\d+)([qkvz]?)");
    private static final Pattern LAYER = Pattern.compile("L(\\d+)");

    @Override
    public String summary() {
        return "path patching: every head as sender to a receiver set, [layer, head] as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = TaskInputs.parse("path-patch", args, Set.of("--model", "--receivers", "--out"),
                Set.of("--freeze-mlps"));
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir)) {
            List<String> specs = new ArrayList<>();
            for (String v : a.all("--receivers")) for (String s : v.split(",")) if (!s.isBlank()) specs.add(s.strip());
            if (specs.isEmpty()) {
                throw new IllegalArgumentException("--receivers is required (loupe path-patch --help)");
            }
            List<Receiver> receivers = new ArrayList<>();
            for (String s : specs) receivers.addAll(receivers(s, model));
            TaskDataset d = TaskInputs.pairs(a, tok, model);
            boolean freezeMlps = a.has("--freeze-mlps");
            Tensor patched = TaskInputs.meanOverLengths(d, g -> PathPatching.sweepHeads(model, g.clean(),
                    g.corrupted(), receivers, g.measure(), new PathPatching.Options(freezeMlps)));
            float[] base = TaskInputs.baselines(model, d);

            Map<String, Object> out = new LinkedHashMap<>();
            out.put("dims", List.of("layer", "head"));
            out.put("labels", List.of(InterpInputs.indexLabels(model.config().nLayers()),
                    InterpInputs.indexLabels(model.config().nHeads())));
            out.put(TaskInputs.key("patched", d), InterpInputs.nested(patched));
            out.put("normalized", base[0] == base[1] ? null
                    : InterpInputs.nested(patched.sub(base[1]).div(base[0] - base[1])));
            out.put(TaskInputs.key("clean", d), base[0]);
            out.put(TaskInputs.key("corrupt", d), base[1]);
            out.put("receivers", specs);
            out.put("freeze_mlps", freezeMlps);
            TaskInputs.describe(out, d);
            InterpInputs.emit(a, out);
            return 0;
        }
    }

    /** The receivers one spec names (see the help), checked against the model's layers and heads. */
    static List<Receiver> receivers(String spec, Gpt2Model model) {
        int layers = model.config().nLayers(), heads = model.config().nHeads();
        if (spec.equals("final")) return List.of(new Receiver.FinalResidual());
        Matcher h = HEAD.matcher(spec), l = LAYER.matcher(spec);
        if (h.matches()) {
            int layer = check(Integer.parseInt(h.group(1)), layers, "layer", spec);
            int head = check(Integer.parseInt(h.group(2)), heads, "head", spec);
            String which = h.group(3);
            return List.of(which.isEmpty() || which.equals("z") ? new Receiver.HeadOutput(layer, head)
                    : new Receiver.HeadInput(layer, head, which.charAt(0)));
        }
        if (l.matches()) return PathPatching.allHeadInputs(check(Integer.parseInt(l.group(1)), layers, "layer", spec),
                heads);
        throw new IllegalArgumentException("--receivers: cannot read '" + spec + "' (e.g. L3H0q, L3H0k, L3H0v, L3H0, "
                + "L3, final)");
    }

    private static int check(int value, int count, String what, String spec) {
        if (value >= count) {
            throw new IllegalArgumentException("--receivers " + spec + ": " + what + " " + value + " outside 0.."
                    + (count - 1));
        }
        return value;
    }
}
