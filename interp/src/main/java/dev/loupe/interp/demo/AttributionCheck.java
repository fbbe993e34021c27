package dev.loupe.interp.demo;

import dev.loupe.interp.patching.ActivationPatching;
import dev.loupe.interp.patching.AttributionPatching;
import dev.loupe.interp.patching.EdgeAttribution;
import dev.loupe.interp.patching.IncrementalPatching;
import dev.loupe.interp.patching.Metric;
import dev.loupe.interp.patching.PathPatching;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How well attribution patching (first order, two forward passes and one backward pass) predicts activation patching
 * (one forward pass per patch) on a trained model: Pearson correlations over head outputs ([layer, head]), the
 * residual stream ([layer, pos] of {@code hook_resid_pre}), and, for edge attribution, over every sender → receiver
 * edge against {@link PathPatching#edge}. The figures in {@code docs/attribution-patching.md} come from {@link #main}:
 *
 * <pre>./loupe build &amp;&amp; java --add-modules jdk.incubator.vector -cp "cli/target/loupe-cli.jar:cli/target/lib/*" \
 *     dev.loupe.interp.demo.AttributionCheck [--quick] [--prompts N]</pre>
 */
public final class AttributionCheck {
    private AttributionCheck() {
    }

    /**
     * The correlations of one clean/corrupted pair of batches.
     *
     * @param cleanMetric      the metric of the clean run
     * @param corruptedMetric  the metric of the corrupted run
     * @param headOutputs      Pearson r of attribution vs activation patching of each head's output (denoising);
     *                         NaN where either is constant
     * @param residPre         the same for {@code hook_resid_pre} at each (layer, position)
     * @param edges            Pearson r of edge attribution (noising) vs {@link PathPatching#edge} over every edge
     *                         whose sender is upstream of its receiver; NaN when not computed
     * @param edgeCount        the number of those edges
     * @param headPatching     the metric after activation patching each head's output (clean into corrupted),
     *                         [layer, head]
     * @param headAttribution  attribution patching's estimate of the change, patched − corrupted, [layer, head]
     * @param residPatching    the metric after activation patching {@code hook_resid_pre}, [layer, pos]
     * @param residAttribution attribution patching's estimate of the change, [layer, pos]
     */
    public record Result(float cleanMetric, float corruptedMetric, double headOutputs, double residPre, double edges,
                         int edgeCount, Tensor headPatching, Tensor headAttribution, Tensor residPatching,
                         Tensor residAttribution) {
    }

    /** Runs the check on the IOI demo model ({@code --quick}: the quick-trained one) and prints the figures. */
    public static void main(String[] args) throws IOException {
        boolean quick = false, heldOut = false;
        int prompts = 16;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--held-out" -> heldOut = true;
                case "--prompts" -> prompts = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "' (expected --quick, --held-out, --prompts N)");
            }
        }
        DemoModels.Built[] built = new DemoModels.Built[1];
        DemoModels.IoiModel m = DemoModels.ioi(quick, (step, loss, lr) -> {
            if (step % 100 == 0) System.err.printf(Locale.ROOT, "training step %d loss %.3f%n", step, loss);
        }, built);
        System.out.printf(Locale.ROOT, "model: IOI demo (%s, %d steps, %s)%n", quick ? "quick" : "full",
                built[0].steps(), built[0].folder());
        Result r = ioi(m, prompts, heldOut, 11);
        System.out.printf(Locale.ROOT, "prompts: %d (%s template and names, S2-swap corruption), logit diff clean "
                + "%.3f, corrupted %.3f%n", prompts, heldOut ? "held-out" : "training", r.cleanMetric(),
                r.corruptedMetric());
        System.out.printf(Locale.ROOT, "pearson head outputs [layer, head]: %.4f%n", r.headOutputs());
        System.out.printf(Locale.ROOT, "pearson resid_pre [layer, pos]: %.4f%n", r.residPre());
        System.out.printf(Locale.ROOT, "pearson edges (edge attribution vs edge patching, %d edges): %.4f%n",
                r.edgeCount(), r.edges());
        print("head outputs, activation patching − corrupted [layer][head]", r.headPatching().sub(r.corruptedMetric()));
        print("head outputs, attribution patching [layer][head]", r.headAttribution());
        print("resid_pre, activation patching − corrupted [layer][pos]", r.residPatching().sub(r.corruptedMetric()));
        print("resid_pre, attribution patching [layer][pos]", r.residAttribution());
    }

    private static void print(String title, Tensor t) {
        System.out.println(title + ":");
        for (int i = 0; i < t.size(0); i++) {
            StringBuilder sb = new StringBuilder(" ");
            for (int j = 0; j < t.size(1); j++) sb.append(String.format(Locale.ROOT, " %7.3f", t.get(i, j)));
            System.out.println(sb);
        }
    }

    /** The check on {@link IoiBatch#of} {@code (m, n, heldOut, seed)}, with edges. */
    public static Result ioi(DemoModels.IoiModel m, int n, boolean heldOut, long seed) {
        IoiBatch b = IoiBatch.of(m, n, heldOut, seed);
        return compare(m.model(), b.clean(), b.corrupted(), b.metric(), true);
    }

    /**
     * Attribution against activation patching for one pair of batches.
     *
     * @param clean   tokens [batch, pos]
     * @param corrupt tokens of the same shape
     * @param edges   also compare edge attribution with edge patching (one pass per edge)
     */
    public static Result compare(Gpt2Model model, TokenBatch clean, TokenBatch corrupt, Metric metric, boolean edges) {
        int layers = model.config().nLayers();
        ActivationCache cleanCache;
        try (var off = Autograd.noGrad()) {
            cleanCache = model.run(clean, Hooks.cacheAll()).cache();
        }
        Tensor headPatch = IncrementalPatching.heads(model, corrupt, cleanCache, ActivationPatching.HeadPoint.OUTPUT,
                metric);
        Tensor residPatch = IncrementalPatching.streamByPosition(model, corrupt, cleanCache,
                ActivationPatching.Stream.RESID_PRE, metric);
        AttributionPatching.Result attr = AttributionPatching.run(model, corrupt, clean, metric,
                n -> n.endsWith("attn.hook_z") || n.endsWith("hook_resid_pre"), AttributionPatching.Options.none());
        Tensor headAttr = AttributionPatching.heads(attr, layers, ActivationPatching.HeadPoint.OUTPUT, false);
        Tensor residAttr = AttributionPatching.stream(attr, layers, ActivationPatching.Stream.RESID_PRE);
        // r does not depend on the shift between a patched metric value and an estimated change
        double heads = pearsonOrNaN(headPatch, headAttr), resid = pearsonOrNaN(residPatch, residAttr);
        double edgeR = Double.NaN;
        int count = 0;
        if (edges) {
            EdgeAttribution ea = EdgeAttribution.run(model, clean, corrupt, metric, AttributionPatching.Options.none());
            float cleanMetric = attr.sourceMetric();
            List<Float> est = new ArrayList<>(), actual = new ArrayList<>();
            for (int i = 0; i < ea.senders().size(); i++) {
                PathPatching.Sender sender = ea.senders().get(i);
                for (int j = 0; j < ea.receivers().size(); j++) {
                    PathPatching.Receiver receiver = ea.receivers().get(j);
                    if (!EdgeAttribution.upstream(sender, receiver)) continue;
                    est.add(ea.scores().get(i, j));
                    actual.add(PathPatching.edge(model, clean, corrupt, sender, receiver, metric) - cleanMetric);
                }
            }
            count = est.size();
            edgeR = pearsonOrNaN(tensor(actual), tensor(est));
        }
        return new Result(attr.sourceMetric(), attr.targetMetric(), heads, resid, edgeR, count, headPatch, headAttr,
                residPatch, residAttr);
    }

    /**
     * Pearson's r of two tensors of one shape, in double precision.
     *
     * @throws IllegalArgumentException for shapes that differ or a constant input
     */
    public static double pearson(Tensor a, Tensor b) {
        double r = pearsonOrNaN(a, b);
        if (Double.isNaN(r)) throw new IllegalArgumentException("no correlation: an input is constant or holds NaN");
        return r;
    }

    /**
     * {@link #pearson}, but NaN where an input is constant (for reports that show the value rather than fail).
     *
     * @throws IllegalArgumentException for shapes that differ
     */
    static double pearsonOrNaN(Tensor a, Tensor b) {
        if (!java.util.Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("shapes " + java.util.Arrays.toString(a.shape()) + " and "
                    + java.util.Arrays.toString(b.shape()) + " differ");
        }
        float[] x = a.contiguous().toFloatArray(), y = b.contiguous().toFloatArray();
        double mx = 0, my = 0;
        for (int i = 0; i < x.length; i++) {
            mx += x[i] / (double) x.length;
            my += y[i] / (double) y.length;
        }
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
    }

    private static Tensor tensor(List<Float> v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i);
        return Tensor.of(f, f.length);
    }
}
