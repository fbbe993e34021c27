package dev.loupe.interp.patching;

import dev.loupe.interp.patching.ActivationPatching.HeadPoint;
import dev.loupe.interp.patching.ActivationPatching.Stream;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.KvCache;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.HookNames;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sweeps of {@link ActivationPatching}, with the same arguments and results, computed only where a patch can
 * change anything. In a causal model a patch in block L at position P leaves every block below L and every position
 * before P as the target run had them, so a patch is one set of rows that {@linkplain Gpt2Model#resume joins} the
 * stack at block L, with the target's own {@code hook_resid_pre} for positions ≥ P and the target's cached keys and
 * values for positions &lt; P; a forward hook at the patched point writes the source activation. All patches that
 * start at one position run as one pass, each entering at its own block, so a block computes only for the patches
 * at or below it. A patch whose source values equal the target's own bit for bit cannot change anything and takes
 * the target's metric without a pass: always the embeddings before the first differing token; later points too when
 * both runs rounded alike (the JIT may compile a kernel between the runs and round differently, which costs only the
 * skip).
 *
 * <p>Requires a batch without padding (clean and corrupted prompts of one token length). When the metric
 * {@linkplain Metric#readsLastPositionOnly reads only the last position}, only that position is unembedded, and the
 * rows of many passes go through the unembedding together; otherwise each patch's logits are the target's for
 * positions &lt; P joined to the recomputed ones.
 */
public final class IncrementalPatching {
    /** Upper bound on rows × new positions per pass, which bounds the memory of one pass. */
    private static final int MAX_ROW_POSITIONS = 8192;
    /** Rows unembedded together: one pass over W_U for many passes' last positions, logits of bounded size. */
    private static final int UNEMBED_ROWS = 256;

    private IncrementalPatching() {
    }

    /**
     * Patches {@code stream} at each (layer, position) in turn; as {@link ActivationPatching#streamByPosition}.
     *
     * @param target tokens [batch, pos] without padding
     * @param source the source run's cache, holding {@code stream}'s points for a batch shaped as {@code target}
     * @return [layer, pos] metric values
     */
    public static Tensor streamByPosition(Gpt2Model model, TokenBatch target, ActivationCache source, Stream stream,
                                          Metric metric) {
        return one(model, target, plan(model, target, source, stream), metric);
    }

    /**
     * Patches one head's {@code point} at every position, for each (layer, head); as {@link ActivationPatching#heads}.
     *
     * @return [layer, head] metric values
     */
    public static Tensor heads(Gpt2Model model, TokenBatch target, ActivationCache source, HeadPoint point,
                               Metric metric) {
        return one(model, target, plan(model, target, source, point, false), metric);
    }

    /**
     * Patches one head's {@code point} at one position (a query position for patterns), for each
     * (layer, head, position); as {@link ActivationPatching#headsByPosition}.
     *
     * @return [layer, head, pos] metric values
     */
    public static Tensor headsByPosition(Gpt2Model model, TokenBatch target, ActivationCache source, HeadPoint point,
                                         Metric metric) {
        return one(model, target, plan(model, target, source, point, true), metric);
    }

    private static Tensor one(Gpt2Model model, TokenBatch target, Plan plan, Metric metric) {
        return Tensor.of(run(model, target, plan, List.of(metric)), plan.sizes());
    }

    /** A sweep's patches, in result order (row-major over {@code dims}), and the result's dims with their sizes. */
    record Plan(List<Patch> patches, List<String> dims, int[] sizes) {
    }

    /** The [layer, pos] plan of a stream sweep. */
    static Plan plan(Gpt2Model model, TokenBatch target, ActivationCache source, Stream stream) {
        int layers = model.config().nLayers(), len = target.length();
        List<Patch> patches = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Tensor src = ActivationPatching.sourceAt(source, HookNames.block(l, stream.point), target);
            for (int p = 0; p < len; p++) patches.add(new Patch(l, p, HookNames.block(l, stream.point), -1, false, src));
        }
        return new Plan(patches, List.of("layer", "pos"), new int[] {layers, len});
    }

    /** The [layer, head] or [layer, head, pos] plan of a head sweep. */
    static Plan plan(Gpt2Model model, TokenBatch target, ActivationCache source, HeadPoint point, boolean byPosition) {
        int layers = model.config().nLayers(), heads = model.config().nHeads(), len = target.length();
        List<Patch> patches = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            String name = HookNames.attn(l, point.point);
            Tensor src = ActivationPatching.sourceAt(source, name, target);
            for (int h = 0; h < heads; h++) {
                if (!byPosition) patches.add(new Patch(l, 0, name, h, true, src));
                else for (int p = 0; p < len; p++) patches.add(new Patch(l, p, name, h, false, src));
            }
        }
        return byPosition ? new Plan(patches, List.of("layer", "head", "pos"), new int[] {layers, heads, len})
                : new Plan(patches, List.of("layer", "head"), new int[] {layers, heads});
    }

    /**
     * One patch: the source's {@code point} (in block {@code layer}) written at position {@code pos}, or at every
     * position when {@code allPositions} (then pos = 0); only head {@code head}'s slice unless head = -1.
     *
     * @param source the source activation, [batch, pos, ...] or [batch, head, pos, pos] for patterns
     */
    record Patch(int layer, int pos, String point, int head, boolean allPositions, Tensor source) {
        boolean pattern() {
            return point.endsWith("hook_pattern");
        }
    }

    /**
     * The metrics of every patch of the plan: [patch, metric] flattened. With one metric, it reads the whole batch;
     * with one per batch row, metric r reads row r alone (logits [1, pos, d_vocab]).
     */
    static float[] run(Gpt2Model model, TokenBatch target, Plan plan, List<Metric> metrics) {
        List<Patch> patches = plan.patches();
        int k = metrics.size();
        if (k != 1 && k != target.batch()) {
            throw new IllegalArgumentException(k + " metrics for a batch of " + target.batch() + " rows");
        }
        if (target.padded()) {
            throw new IllegalArgumentException("incremental patching needs a batch without padding, got " + target);
        }
        int layers = model.config().nLayers();
        float[] out = new float[patches.size() * k];
        try (var off = Autograd.noGrad()) {
            Set<String> points = new HashSet<>();
            for (Patch patch : patches) points.add(patch.point());
            Gpt2Model.Output base = model.run(target, Hooks.builder()
                    .cache(n -> n.endsWith("hook_resid_pre") || n.endsWith("attn.hook_k") || n.endsWith("attn.hook_v")
                            || points.contains(n))
                    .build());
            float[] unpatched = measure(base.logits(), metrics);
            List<Pending> pending = new ArrayList<>();
            // Patches grouped by start position; within a group, by layer (the order rows join the stack).
            for (int p = 0; p < target.length(); p++) {
                List<Integer> group = new ArrayList<>();
                for (int l = 0; l < layers; l++) {
                    for (int i = 0; i < patches.size(); i++) {
                        Patch patch = patches.get(i);
                        if (patch.pos() != p || patch.layer() != l) continue;
                        if (unchanged(patch, base.cache().get(patch.point()))) {
                            System.arraycopy(unpatched, 0, out, i * k, k);
                        } else {
                            group.add(i);
                        }
                    }
                }
                int perPass = Math.max(1, MAX_ROW_POSITIONS / (target.batch() * (target.length() - p)));
                for (int s = 0; s < group.size(); s += perPass) {
                    List<Integer> chunk = group.subList(s, Math.min(group.size(), s + perPass));
                    Tensor normalized = pass(model, target, base, patches, chunk, p, metrics, out);
                    if (normalized != null) pending.add(new Pending(chunk, normalized));
                }
            }
            unembed(model, pending, metrics, out);
        }
        return out;
    }

    /** Patches whose last position has been through ln_final but not yet the unembedding: [chunk · batch, 1, d]. */
    private record Pending(List<Integer> chunk, Tensor normalized) {
    }

    /** Unembeds the pending rows a few hundred at a time and measures each patch. */
    private static void unembed(Gpt2Model model, List<Pending> pending, List<Metric> metrics, float[] out) {
        int b = pending.isEmpty() ? 0 : pending.get(0).normalized().size(0) / pending.get(0).chunk().size();
        for (int i = 0; i < pending.size(); ) {
            List<Pending> part = new ArrayList<>();
            int rows = 0;
            while (i < pending.size() && (part.isEmpty() || rows + pending.get(i).normalized().size(0) <= UNEMBED_ROWS)) {
                rows += pending.get(i).normalized().size(0);
                part.add(pending.get(i++));
            }
            Tensor logits = model.unembed(Tensor.cat(0, part.stream().map(Pending::normalized).toArray(Tensor[]::new)));
            int row = 0;
            for (Pending pend : part) {
                for (int patch : pend.chunk()) {
                    float[] v = measure(logits.narrow(0, row, b), metrics);
                    System.arraycopy(v, 0, out, patch * v.length, v.length);
                    row += b;
                }
            }
        }
    }

    /**
     * One resumed pass for patches {@code chunk} (sorted by layer), all starting at position {@code p}: measures them,
     * or, when every metric reads only the last position, returns that position's ln_final output
     * [chunk · batch, 1, d_model] for {@link #unembed}.
     */
    private static Tensor pass(Gpt2Model model, TokenBatch target, Gpt2Model.Output base, List<Patch> patches,
                             List<Integer> chunk, int p, List<Metric> metrics, float[] out) {
        int b = target.batch(), len = target.length(), n = chunk.size(), layers = model.config().nLayers();
        List<Gpt2Model.Entry> entries = new ArrayList<>();
        Map<String, List<Integer>> byPoint = new LinkedHashMap<>(); // point → chunk indices
        int firstLayer = patches.get(chunk.get(0)).layer();
        for (int j = 0; j < n; j++) {
            Patch patch = patches.get(chunk.get(j));
            Tensor resid = base.cache().get(HookNames.residPre(patch.layer())).narrow(1, p, len - p);
            entries.add(new Gpt2Model.Entry(patch.layer(), resid));
            byPoint.computeIfAbsent(patch.point(), k -> new ArrayList<>()).add(j);
        }
        Hooks.Builder hooks = Hooks.builder();
        byPoint.forEach((point, js) -> hooks.forward(point, (act, name) -> {
            Tensor copy = Tensor.zeros(act.shape());
            copy.copyFrom(act);
            for (int j : js) write(copy, patches.get(chunk.get(j)), j * b, b); // patch j owns rows [j·b, j·b + b)
            return copy;
        }));
        KvCache cache = null;
        if (p > 0) {
            List<Tensor> keys = new ArrayList<>(), values = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                keys.add(l < firstLayer ? null : repeat(base.cache().get(HookNames.attn(l, "hook_k")), p, n));
                values.add(l < firstLayer ? null : repeat(base.cache().get(HookNames.attn(l, "hook_v")), p, n));
            }
            cache = KvCache.of(keys, values);
        }
        TokenBatch mask = TokenBatch.of(new int[n * b][len - p]);
        if (metrics.stream().allMatch(Metric::readsLastPositionOnly)) {
            return model.resume(mask, hooks.cache(HookNames.LN_FINAL_NORMALIZED).build(), cache, entries,
                    Gpt2Model.Readout.LAST_NORMALIZED).cache().get(HookNames.LN_FINAL_NORMALIZED);
        }
        Tensor logits = model.resume(mask, hooks.build(), cache, entries, Gpt2Model.Readout.LOGITS).logits();
        for (int j = 0; j < n; j++) {
            Tensor mine = logits.narrow(0, j * b, b);
            if (p > 0) mine = Tensor.cat(1, base.logits().narrow(1, 0, p), mine);
            float[] v = measure(mine, metrics);
            System.arraycopy(v, 0, out, chunk.get(j) * v.length, v.length);
        }
        return null;
    }

    /** logits [batch, pos, d_vocab] → one metric of the batch, or one per row. */
    private static float[] measure(Tensor logits, List<Metric> metrics) {
        if (metrics.size() == 1) return new float[] {metrics.get(0).apply(logits).item()};
        float[] v = new float[metrics.size()];
        for (int r = 0; r < v.length; r++) v[r] = metrics.get(r).apply(logits.narrow(0, r, 1)).item();
        return v;
    }

    /** keys [batch, pos, head, d_head] → their first p positions, once per patch: [n · batch, p, head, d_head]. */
    private static Tensor repeat(Tensor kv, int p, int n) {
        Tensor past = kv.narrow(1, 0, p);
        if (kv.size(0) == 1) return past.expand(n, p, kv.size(2), kv.size(3)); // shared, no copy
        Tensor[] copies = new Tensor[n];
        Arrays.fill(copies, past);
        return Tensor.cat(0, copies);
    }

    /** True when the patch would write exactly the values the target already has there. */
    private static boolean unchanged(Patch patch, Tensor target) {
        return Arrays.equals(slice(patch, patch.source()).toFloatArray(), slice(patch, target).toFloatArray());
    }

    /** The part of an activation [batch, ...] that {@code patch} writes. */
    private static Tensor slice(Patch patch, Tensor act) {
        if (patch.head() >= 0) act = act.narrow(patch.pattern() ? 1 : 2, patch.head(), 1);
        return patch.allPositions() ? act : act.narrow(patch.pattern() ? 2 : 1, patch.pos(), 1);
    }

    /** Writes the patch's source values into rows [row, row + b) of {@code act}; new position 0 is the patch's. */
    private static void write(Tensor act, Patch patch, int row, int b) {
        Tensor dst = act.narrow(0, row, b);
        if (patch.head() >= 0) dst = dst.narrow(patch.pattern() ? 1 : 2, patch.head(), 1);
        if (!patch.allPositions()) dst = dst.narrow(patch.pattern() ? 2 : 1, 0, 1);
        dst.copyFrom(slice(patch, patch.source()));
    }
}
