package dev.loupe.cli;

import dev.loupe.interp.patching.AttributionPatching;
import dev.loupe.interp.patching.PairSweeps;
import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** {@code loupe attribution-patch}: the attribution-patching estimate of an activation-patching sweep, as JSON. */
final class AttributionPatchCommand implements Command {
    static final String HELP = """
            usage: loupe attribution-patch --model DIR --activation KIND [--direction denoise|noise]
                                           (--clean TEXT --corrupt TEXT --answer TEXT --wrong TEXT | --task T ...)
                                           [--freeze-patterns] [--freeze-ln-scales] [--metric M] [--out FILE.json]

            Estimates every activation patch at once to first order: (source − target) ⊙ ∂metric/∂activation, the
            gradient taken on the target run (denoise: clean activations into the corrupted run; noise: corrupted
            into clean), summed over the activation's other dims — two forward passes and one backward pass per token
            length. The metric is the mean over the pairs. A KIND with a position dim has one result per token
            length: its JSON holds one block per length group of the pairs (shortest first) instead of a single
            result, each the mean over that group's pairs.

            KIND and the result's dims:
              resid_pre, resid_mid, resid_post, attn_out, mlp_out   [layer, pos]
              z, q, k, v, pattern                                   [layer, head]
              z_pos, q_pos, k_pos, v_pos, pattern_pos               [layer, head, pos] (pattern: query position)
              neurons                                               [layer, neuron] (mlp.hook_post, all positions)

            Prints (or writes to --out) JSON: {"dims", "labels", "attribution" (estimated change of the metric),
            "estimated_<metric>" (target value + attribution, comparable to loupe patch's patched values),
            "clean_<metric>", "corrupt_<metric>", "activation", "direction", "freeze_patterns", "freeze_ln_scales",
            "metric", "task", "pairs", "token_lengths"}, <metric> being logit_diff or prob_diff. For a KIND with a
            position dim, "labels", "attribution" and "estimated_<metric>" move into "groups": [{"token_length",
            "pairs", "labels" (the prompt's tokens for a group of one pair, else positions), "attribution",
            "estimated_<metric>", "clean_<metric>", "corrupt_<metric>"}, ...]; the top-level clean and corrupt
            values stay the means over all pairs.

            """ + ModelInputs.MODEL_HELP + """
              --activation KIND   what to attribute (above)
              --direction D       denoise (default) or noise
              --freeze-patterns   stop gradients at every attention pattern
              --freeze-ln-scales  stop gradients at every LayerNorm scale
            """ + TaskInputs.PAIR_HELP + """
              --out FILE          write the JSON there instead of printing it
            """;

    @Override
    public String summary() {
        return "attribution patching (gradient estimate of every patch) as JSON";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = TaskInputs.parse("attribution-patch", args,
                Set.of("--model", "--activation", "--direction", "--out"),
                Set.of("--freeze-patterns", "--freeze-ln-scales"));
        String kind = a.require("--activation");
        boolean denoise = InterpInputs.direction(a) == PairSweeps.Direction.DENOISE;
        Path dir = ModelInputs.folder(a);
        Gpt2Tokenizer tok = ModelInputs.tokenizer(dir);
        try (Gpt2Model model = ModelInputs.model(dir)) {
            ActivationKind r = ActivationKind.parse(kind, model.config(), true);
            TaskDataset d = TaskInputs.pairs(a, tok, model);
            AttributionPatching.Options options = new AttributionPatching.Options(a.has("--freeze-patterns"),
                    a.has("--freeze-ln-scales"), null);
            int layers = model.config().nLayers();
            // [attribution..., target metric] of one batch, so that one weighted mean over lengths gives both
            Function<TaskDataset, Tensor> both = g -> {
                TokenBatch target = denoise ? g.corrupted() : g.clean(), source = denoise ? g.clean() : g.corrupted();
                AttributionPatching.Result result = AttributionPatching.run(model, target, source, g.measure(),
                        r.points(), options);
                Tensor t = r.stream() != null ? AttributionPatching.stream(result, layers, r.stream())
                        : r.head() != null ? AttributionPatching.heads(result, layers, r.head(), r.byPosition())
                        : AttributionPatching.neurons(result, layers);
                return Tensor.cat(0, t.detach().reshape(-1), Tensor.scalar(result.targetMetric()).reshape(1));
            };

            Map<String, Object> out = new LinkedHashMap<>();
            out.put("activation", kind);
            out.put("direction", denoise ? "denoise" : "noise");
            out.put("dims", r.dims());
            if (r.dims().contains("pos")) {
                List<Object> groups = new ArrayList<>();
                float clean = 0, corrupt = 0; // the groups' baselines weighted by size: the means over all pairs
                for (TaskDataset g : d.byLength()) {
                    Map<String, Object> block = new LinkedHashMap<>();
                    block.put("token_length", g.tokenLength());
                    block.put("pairs", g.size());
                    float[] base = result(block, both.apply(g), r.dims(), model, tok, g, denoise);
                    clean += base[0] * g.size() / d.size();
                    corrupt += base[1] * g.size() / d.size();
                    groups.add(block);
                }
                out.put("groups", groups);
                out.put(TaskInputs.key("clean", d), clean);
                out.put(TaskInputs.key("corrupt", d), corrupt);
            } else {
                result(out, TaskInputs.meanOverLengths(d, both), r.dims(), model, tok, d, denoise);
            }
            out.put("freeze_patterns", options.freezePatterns());
            out.put("freeze_ln_scales", options.freezeLnScales());
            TaskInputs.describe(out, d);
            InterpInputs.emit(a, out);
            return 0;
        }
    }

    /**
     * Puts {@code labels}, {@code attribution}, {@code estimated_<metric>} and the clean and corrupt metric of
     * {@code d} into {@code out}, from {@code both} = [attribution..., target metric] (the mean over {@code d}).
     *
     * @return the clean and corrupt metric of {@code d}, [2] {clean, corrupt}
     */
    private static float[] result(Map<String, Object> out, Tensor both, List<String> dims, Gpt2Model model,
                               Gpt2Tokenizer tok, TaskDataset d, boolean denoise) {
        int cells = both.size(0) - 1;
        Tensor attribution = both.narrow(0, 0, cells).reshape(shape(dims, model, d));
        float targetMetric = both.get(cells);
        List<Object> labels = new ArrayList<>();
        for (String dim : dims) {
            labels.add(switch (dim) {
                case "layer" -> InterpInputs.indexLabels(model.config().nLayers());
                case "head" -> InterpInputs.indexLabels(model.config().nHeads());
                case "neuron" -> InterpInputs.indexLabels(attribution.size(1));
                default -> d.size() == 1 ? InterpInputs.tokenLabels(tok, denoise ? d.pairs().get(0).corruptedIds()
                        : d.pairs().get(0).cleanIds()) : InterpInputs.indexLabels(d.tokenLength());
            });
        }
        out.put("labels", labels);
        out.put("attribution", InterpInputs.nested(attribution));
        out.put(TaskInputs.key("estimated", d), InterpInputs.nested(attribution.add(targetMetric)));
        float[] base = TaskInputs.baselines(model, d);
        out.put(TaskInputs.key("clean", d), base[0]);
        out.put(TaskInputs.key("corrupt", d), base[1]);
        return base;
    }

    /** The result's shape for {@code dims}. */
    private static int[] shape(List<String> dims, Gpt2Model model, TaskDataset d) {
        return dims.stream().mapToInt(dim -> switch (dim) {
            case "layer" -> model.config().nLayers();
            case "head" -> model.config().nHeads();
            case "neuron" -> model.config().dMlp();
            default -> d.tokenLength();
        }).toArray();
    }
}
