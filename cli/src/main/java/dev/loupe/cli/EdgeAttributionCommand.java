package dev.loupe.cli;

import dev.loupe.interp.demo.DemoModels;
import dev.loupe.interp.demo.IoiBatch;
import dev.loupe.interp.demo.IoiCorpus;
import dev.loupe.interp.patching.AttributionPatching;
import dev.loupe.interp.patching.EdgeAttribution;
import dev.loupe.interp.patching.PairSweeps;
import dev.loupe.interp.patching.PathPatching.Receiver;
import dev.loupe.interp.patching.PathPatching.Sender;
import dev.loupe.interp.tasks.TaskDataset;
import dev.loupe.interp.tasks.TaskMetric;
import dev.loupe.interp.tasks.TaskPair;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;

/** {@code loupe edge-attribution}: the top sender → receiver edges by |edge attribution|, as JSON lines or a table. */
final class EdgeAttributionCommand implements Command {
    static final String HELP = """
            usage: loupe edge-attribution (--model DIR (--clean TEXT ... | --task T ...) | --demo ioi|ioi-quick)
                                          [--direction denoise|noise] [--freeze-patterns] [--freeze-ln-scales]
                                          [--senders S[,S...]] [--receivers R[,R...]] [--top N]
                                          [--format jsonl|table] [--out FILE]

            Edge attribution patching (Syed et al. 2023): the first-order estimate of patching every direct edge
            from a sender (embed, a head LlHh, an MLP MLPl) to a receiver (a head's query, key or value input
            LlHh.q|k|v, an MLP's input MLPl, the final residual resid_final) at once — (source − target output of the
            sender) ⊙ ∂metric/∂(receiver input) on the target run; two forward passes and one backward pass per token
            length (denoise: target = corrupted, source = clean; noise: the other way). The metric is the mean over
            the pairs. Only edges whose sender is upstream of the receiver are listed, largest |attribution| first.

            --demo loads the IOI demo model (trained on first use and cached, see loupe demo) and takes its pairs
            from one IOI template against the S2 swap, metric logit(IO) − logit(S): --n prompts (default 16) drawn
            with --seed (default 11), --held-out for the held-out template and names.

            jsonl (default): a first line describing the run {"direction", "metric", "task", "pairs",
            "token_lengths", "edges" (how many passed the filters), "target_<metric>", "source_<metric>", ...}, then
            one line per edge {"rank", "sender", "receiver", "attribution"}. table: the same as aligned text.

            """ + ModelInputs.MODEL_HELP + """
              --demo M            ioi or ioi-quick: the IOI demo model instead of --model (with --n, --seed,
                                  --held-out)
              --direction D       denoise (default) or noise
              --freeze-patterns   stop gradients at every attention pattern
              --freeze-ln-scales  stop gradients at every LayerNorm scale
              --senders S         keep edges from these senders: embed, LlHh, MLPl, or Ll (every head of layer l)
              --receivers R       keep edges into these receivers: LlHh.q|k|v, LlHh (its q, k and v), Ll (every
                                  head input of layer l), MLPl, resid_final
              --top N             how many edges (default 20; 0: all)
              --format F          jsonl (default) or table
              --held-out          --demo: the held-out template and names
            """ + TaskInputs.PAIR_HELP + """
              --out FILE          write there instead of printing
            """;

    @Override
    public String summary() {
        return "edge attribution: top sender -> receiver edges as JSON lines or a table";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = TaskInputs.parse("edge-attribution", args, Set.of("--model", "--demo", "--direction", "--senders",
                "--receivers", "--top", "--format", "--out"), Set.of("--freeze-patterns", "--freeze-ln-scales",
                "--held-out"));
        boolean denoise = InterpInputs.direction(a) == PairSweeps.Direction.DENOISE;
        int top = a.intValue("--top", 20, 0);
        String format = a.has("--format") ? a.get("--format") : "jsonl";
        if (!format.equals("jsonl") && !format.equals("table")) {
            throw new IllegalArgumentException("--format: expected jsonl or table but got '" + format + "'");
        }
        if (a.has("--model") == a.has("--demo")) throw new IllegalArgumentException("give one of --model and --demo");
        if (a.has("--held-out") && !a.has("--demo")) throw new IllegalArgumentException("--held-out needs --demo");
        AttributionPatching.Options options = new AttributionPatching.Options(a.has("--freeze-patterns"),
                a.has("--freeze-ln-scales"), null);
        Gpt2Model model;
        TaskDataset d;
        if (a.has("--demo")) {
            for (String f : List.of("--task", "--clean", "--clean-tokens", "--corrupt", "--corrupt-tokens",
                    "--answer", "--answer-id", "--wrong", "--wrong-id", "--corruption", "--order", "--flipped",
                    "--prepend-bos")) {
                if (a.has(f)) throw new IllegalArgumentException(f + " does not apply to --demo (it has its own pairs)");
            }
            boolean quick = switch (a.get("--demo")) {
                case "ioi" -> false;
                case "ioi-quick" -> true;
                default -> throw new IllegalArgumentException("--demo: expected ioi or ioi-quick but got '"
                        + a.get("--demo") + "'");
            };
            DemoModels.IoiModel m = DemoModels.ioi(quick, (step, loss, lr) -> {
                if (step % 100 == 0) System.err.printf(Locale.ROOT, "training the demo model: step %d loss %.3f%n", step, loss);
            }, null);
            model = m.model();
            d = demoPairs(m, a.intValue("--n", 16, 1), a.has("--held-out"), a.longValue("--seed", 11));
            if (a.has("--metric")) d = d.withMetric(TaskMetric.named(a.get("--metric")));
        } else {
            Path dir = ModelInputs.folder(a);
            model = ModelInputs.model(dir);
            try {
                d = TaskInputs.pairs(a, ModelInputs.tokenizer(dir), model);
            } catch (RuntimeException e) {
                model.close(); // a usage error in the pairs: the mapped weights go now, not at exit
                throw e;
            }
        }
        try (model) {
            EdgeAttribution e = mean(model, d, denoise, options);
            List<Edge> edges = edges(e, selector(a.all("--senders"), "--senders", e.senders(),
                    EdgeAttributionCommand::matchesSender), selector(a.all("--receivers"), "--receivers",
                    e.receivers(), EdgeAttributionCommand::matchesReceiver));
            Map<String, Object> head = new LinkedHashMap<>();
            head.put("direction", denoise ? "denoise" : "noise");
            head.put("model", a.has("--demo") ? "demo:" + a.get("--demo") : a.get("--model"));
            head.put("edges", edges.size());
            head.put(TaskInputs.key("target", d), e.targetMetric());
            head.put(TaskInputs.key("source", d), e.sourceMetric());
            head.put("freeze_patterns", options.freezePatterns());
            head.put("freeze_ln_scales", options.freezeLnScales());
            TaskInputs.describe(head, d);
            List<Edge> shown = top == 0 ? edges : edges.subList(0, Math.min(top, edges.size()));
            String text = format.equals("jsonl") ? jsonLines(head, shown) : table(head, shown);
            if (a.has("--out")) AtomicFiles.writeString(Path.of(a.get("--out")), text);
            else System.out.print(text);
            return 0;
        }
    }

    /** One edge and its attribution. */
    record Edge(Sender sender, Receiver receiver, float attribution) {
    }

    /**
     * Edge attribution over all pairs: the mean of each token-length group's scores and metrics weighted by its
     * size (rows do not interact and the metric is a mean over rows).
     */
    static EdgeAttribution mean(Gpt2Model model, TaskDataset d, boolean denoise, AttributionPatching.Options options) {
        EdgeAttribution[] first = new EdgeAttribution[1];
        Tensor packed = TaskInputs.meanOverLengths(d, g -> {
            TokenBatch target = denoise ? g.corrupted() : g.clean(), source = denoise ? g.clean() : g.corrupted();
            EdgeAttribution e = EdgeAttribution.run(model, target, source, g.measure(), options);
            if (first[0] == null) first[0] = e;
            return Tensor.cat(0, e.scores().detach().reshape(-1), Tensor.of(new float[] {e.targetMetric(),
                    e.sourceMetric()}, 2));
        });
        int s = first[0].senders().size(), r = first[0].receivers().size();
        return new EdgeAttribution(first[0].senders(), first[0].receivers(),
                packed.narrow(0, 0, s * r).reshape(s, r), packed.get(s * r), packed.get(s * r + 1));
    }

    /** The upstream edges that pass both filters, largest |attribution| first. */
    static List<Edge> edges(EdgeAttribution e, Set<Sender> senders, Set<Receiver> receivers) {
        List<Edge> out = new ArrayList<>();
        for (int i = 0; i < e.senders().size(); i++) {
            Sender s = e.senders().get(i);
            if (senders != null && !senders.contains(s)) continue;
            for (int j = 0; j < e.receivers().size(); j++) {
                Receiver r = e.receivers().get(j);
                if (!EdgeAttribution.upstream(s, r) || receivers != null && !receivers.contains(r)) continue;
                out.add(new Edge(s, r, e.scores().get(i, j)));
            }
        }
        out.sort(Comparator.comparingDouble((Edge x) -> -Math.abs(x.attribution())));
        return out;
    }

    /** The components the specs select (null: no filter); a spec that selects nothing is an error. */
    private static <T> Set<T> selector(List<String> values, String flag, List<T> all, BiPredicate<String, T> matches) {
        List<String> specs = new ArrayList<>();
        for (String v : values) for (String s : v.split(",")) if (!s.isBlank()) specs.add(s.strip());
        if (specs.isEmpty()) return null;
        Set<T> out = new java.util.LinkedHashSet<>();
        for (String spec : specs) {
            List<T> hit = all.stream().filter(c -> matches.test(spec, c)).toList();
            if (hit.isEmpty()) {
                throw new IllegalArgumentException(flag + ": '" + spec + "' names no component of this model (see "
                        + "loupe edge-attribution --help)");
            }
            out.addAll(hit);
        }
        return out;
    }

    private static boolean matchesSender(String spec, Sender s) {
        return spec.equals(EdgeAttribution.name(s)) || s instanceof Sender.Head h && spec.equals("L" + h.layer());
    }

    private static boolean matchesReceiver(String spec, Receiver r) {
        String name = EdgeAttribution.name(r);
        return spec.equals(name) || name.startsWith(spec + ".")
                || r instanceof Receiver.HeadInput in && spec.equals("L" + in.layer());
    }

    private static String jsonLines(Map<String, Object> head, List<Edge> edges) {
        StringBuilder sb = new StringBuilder(Json.write(head)).append('\n');
        for (int k = 0; k < edges.size(); k++) {
            Edge e = edges.get(k);
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("rank", k + 1);
            line.put("sender", EdgeAttribution.name(e.sender()));
            line.put("receiver", EdgeAttribution.name(e.receiver()));
            line.put("attribution", e.attribution());
            sb.append(Json.write(line)).append('\n');
        }
        return sb.toString();
    }

    private static String table(Map<String, Object> head, List<Edge> edges) {
        StringBuilder sb = new StringBuilder();
        head.forEach((k, v) -> sb.append("# ").append(k).append(": ").append(v instanceof Map<?, ?> || v instanceof
                List<?> ? Json.write(v) : v).append('\n'));
        sb.append(String.format(Locale.ROOT, "%5s  %-8s  %-12s  %12s%n", "rank", "sender", "receiver", "attribution"));
        for (int k = 0; k < edges.size(); k++) {
            Edge e = edges.get(k);
            sb.append(String.format(Locale.ROOT, "%5d  %-8s  %-12s  %12.6g%n", k + 1, EdgeAttribution.name(e.sender()),
                    EdgeAttribution.name(e.receiver()), e.attribution()));
        }
        return sb.toString();
    }

    /** {@link IoiBatch#of} as a dataset: model ids, answer IO, wrong answer S, scored by the logit difference. */
    static TaskDataset demoPairs(DemoModels.IoiModel m, int n, boolean heldOut, long seed) {
        IoiBatch b = IoiBatch.of(m, n, heldOut, seed);
        List<TaskPair> pairs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            IoiCorpus.Prompt p = b.prompts().get(i);
            pairs.add(new TaskPair(p.text(), p.s2Swapped(), b.clean().row(i), b.corrupted().row(i), p.io(), p.s(),
                    new int[] {b.io()[i]}, new int[] {b.s()[i]}));
        }
        return new TaskDataset("ioi-demo", TaskMetric.LOGIT_DIFF, pairs);
    }
}
