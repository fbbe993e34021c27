package dev.loupe.interp.ablation;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.hooks.ForwardHook;
import dev.loupe.transformer.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns ablation specs into forward hooks, so any number of ablations (and any other hooks) run in one forward
 * pass. Each spec becomes one hook on its target's point: out = act ⊙ (1 − mask) + replacement ⊙ mask, where the mask
 * selects the target's slice and positions, so gradients still flow through everything not ablated.
 */
public final class Ablator {
    private Ablator() {
    }

    /** Runs {@code batch} with every spec applied in one pass. Logits [batch, pos, d_vocab] and an empty cache. */
    public static Gpt2Model.Output run(Gpt2Model model, TokenBatch batch, List<Ablation.Spec> specs) {
        return model.run(batch, addTo(Hooks.builder(), model, batch, specs).build());
    }

    /**
     * Adds one forward hook per spec to {@code builder} (reference prompts for mean and resample ablations are run
     * now, once). Returns {@code builder}.
     */
    public static Hooks.Builder addTo(Hooks.Builder builder, Gpt2Model model, TokenBatch batch,
                                      List<Ablation.Spec> specs) {
        for (Ablation.Spec s : specs) {
            if (!model.hookPoints().contains(s.target().point())) {
                throw new IllegalArgumentException("ablation target " + s.target() + ": the model has no point "
                        + s.target().point());
            }
            Tensor replacement = replacement(model, batch, s);
            builder.forward(s.target().point(), hook(s, replacement));
        }
        return builder;
    }

    /**
     * {@code spec} with a mean or resample ablation resolved to the explicit values it stands for (its reference
     * prompts run now), so that a sweep over many targets of one point runs the references once: the result applies
     * to any target on the same point. Other ablations come back as they are.
     */
    public static Ablation.Spec resolve(Gpt2Model model, TokenBatch batch, Ablation.Spec spec) {
        return switch (spec.ablation()) {
            case Ablation.Mean m -> resolved(model, batch, spec);
            case Ablation.Resample r -> resolved(model, batch, spec);
            default -> spec;
        };
    }

    private static Ablation.Spec resolved(Gpt2Model model, TokenBatch batch, Ablation.Spec spec) {
        return new Ablation.Spec(spec.target(), new Ablation.Values(replacement(model, batch, spec)));
    }

    private static ForwardHook hook(Ablation.Spec s, Tensor replacement) {
        return (act, name) -> {
            Tensor mask = mask(s.target(), act.shape());
            if (s.ablation() instanceof Ablation.Scale sc) return act.mul(mask.mul(sc.alpha() - 1).add(1));
            Tensor keep = mask.neg().add(1);
            return act.mul(keep).add(fit(replacement, s.target(), act.shape()).mul(mask));
        };
    }

    /**
     * Reference-derived replacements carry the references' sequence length: crop (or zero-pad, where no position is
     * ablated) the sequence axes to the activation's.
     */
    private static Tensor fit(Tensor r, Target t, int[] shape) {
        if (r.rank() != shape.length) return r; // scalars and explicit values broadcast as they are
        int[] axes = t instanceof Target.Pattern ? new int[] {2, 3} : new int[] {1};
        for (int ax : axes) {
            int want = shape[ax];
            if (r.size(ax) > want) r = r.narrow(ax, 0, want);
            else if (r.size(ax) < want) {
                int[] padShape = r.shape();
                padShape[ax] = want - r.size(ax);
                r = Tensor.cat(ax, r, Tensor.zeros(padShape));
            }
        }
        return r;
    }

    // ---------------------------------------------------------------- where: the mask

    /** Sequence axis and slot axis of each target's point (-1: none). */
    private static int posDim(Target t) {
        return t instanceof Target.Pattern ? 2 : 1;
    }

    private static int slotDim(Target t) {
        return switch (t) {
            case Target.Head h -> 2;
            case Target.HeadSlice h -> 2;
            case Target.Pattern p -> 1;
            case Target.Neurons n -> 2;
            case Target.Stream s -> -1;
        };
    }

    private static int[] slots(Target t) {
        return switch (t) {
            case Target.Head h -> new int[] {h.head()};
            case Target.HeadSlice h -> new int[] {h.head()};
            case Target.Pattern p -> new int[] {p.head()};
            case Target.Neurons n -> n.neurons();
            case Target.Stream s -> null;
        };
    }

    /**
     * 1 on the target's slice (its head or neurons, at its positions), 0 elsewhere: a tensor that broadcasts against
     * an activation of {@code shape} (the target point's shape), e.g. [1, pos, head, 1] for a head.
     */
    public static Tensor mask(Target t, int[] shape) {
        int pd = posDim(t), sd = slotDim(t);
        int[] mshape = new int[shape.length];
        java.util.Arrays.fill(mshape, 1);
        mshape[pd] = shape[pd];
        if (sd >= 0) mshape[sd] = shape[sd];
        int positions = shape[pd], slotCount = sd >= 0 ? shape[sd] : 1;
        boolean[] posOn = select(t.positions(), positions, "position", t);
        boolean[] slotOn = sd >= 0 ? select(slots(t), slotCount, t instanceof Target.Neurons ? "neuron" : "head", t)
                : new boolean[] {true};
        float[] m = new float[positions * slotCount];
        for (int p = 0; p < positions; p++) {
            for (int s = 0; s < slotCount; s++) {
                // element order follows mshape: the lower of (pd, sd) is the outer loop
                int idx = sd < 0 || pd < sd ? p * slotCount + s : s * positions + p;
                m[idx] = posOn[p] && slotOn[s] ? 1f : 0f;
            }
        }
        return Tensor.of(m, mshape);
    }

    private static boolean[] select(int[] chosen, int n, String what, Target t) {
        boolean[] on = new boolean[n];
        if (chosen == null) {
            java.util.Arrays.fill(on, true);
            return on;
        }
        for (int i : chosen) {
            if (i < 0 || i >= n) {
                throw new IllegalArgumentException(what + " " + i + " out of range 0.." + (n - 1) + " for " + t);
            }
            on[i] = true;
        }
        return on;
    }

    // ---------------------------------------------------------------- what: the replacement

    private static Tensor replacement(Gpt2Model model, TokenBatch batch, Ablation.Spec s) {
        return switch (s.ablation()) {
            case Ablation.Zero z -> Tensor.scalar(0);
            case Ablation.Scale sc -> Tensor.scalar(0); // unused: the hook scales in place
            case Ablation.Values v -> values(model, s.target(), v.values());
            case Ablation.Mean m -> mean(references(model, s.target(), m.references(), batch), s.target());
            case Ablation.Resample r -> resample(references(model, s.target(), r.references(), batch), s.target(),
                    batch.batch(), needed(s.target(), batch.length()), r.seed());
        };
    }

    /** Explicit values for neurons are given per chosen neuron; spread them over d_mlp. */
    private static Tensor values(Gpt2Model model, Target t, Tensor v) {
        if (t instanceof Target.Neurons n && v.rank() == 1 && v.size(0) == n.neurons().length) {
            int dMlp = model.config().dMlp();
            return Tensor.zeros(dMlp).scatterAdd(0, Tensor.indices(n.neurons()), v);
        }
        return v;
    }

    /** Each reference's activation at the target point, batch dim dropped: [len, ...] ([head, len, len] for patterns). */
    private static List<Tensor> references(Gpt2Model model, Target t, List<int[]> refs, TokenBatch batch) {
        String point = t.point();
        Hooks cacheIt = Hooks.builder().cache(n -> n.equals(point)).build();
        List<Tensor> out = new ArrayList<>();
        try (var off = Autograd.noGrad()) {
            for (int[] r : refs) out.add(model.run(TokenBatch.of(r), cacheIt).cache().get(point).select(0, 0));
        }
        int needed = needed(t, batch.length());
        if (t instanceof Target.Pattern) {
            for (int i = 0; i < refs.size(); i++) {
                if (refs.get(i).length < batch.length()) {
                    throw new IllegalArgumentException("pattern ablation of " + t + ": reference " + i + " has "
                            + refs.get(i).length + " tokens, fewer than the batch's " + batch.length());
                }
            }
        } else if (refs.stream().noneMatch(r -> r.length >= needed)) {
            throw new IllegalArgumentException("no reference prompt reaches position " + (needed - 1) + " of "
                    + Target.describe(t));
        }
        return out;
    }

    /** Positions a reference must cover: up to the last targeted one. */
    private static int needed(Target t, int length) {
        if (t.positions() == null) return length;
        int max = -1;
        for (int p : t.positions()) max = Math.max(max, p);
        return max + 1;
    }

    /** Position-by-position mean over the references that reach each position. */
    private static Tensor mean(List<Tensor> refs, Target t) {
        if (t instanceof Target.Pattern) {
            int len = refs.stream().mapToInt(r -> r.size(1)).min().orElseThrow();
            Tensor sum = null;
            for (Tensor r : refs) {
                Tensor part = r.narrow(1, 0, len).narrow(2, 0, len);
                sum = sum == null ? part : sum.add(part);
            }
            return sum.div(refs.size()).unsqueeze(0); // [1, head, q, k], cropped to the batch by fit()
        }
        int maxLen = refs.stream().mapToInt(r -> r.size(0)).max().orElseThrow();
        List<Tensor> perPos = new ArrayList<>();
        for (int p = 0; p < maxLen; p++) {
            Tensor sum = null;
            int n = 0;
            for (Tensor r : refs) {
                if (r.size(0) <= p) continue;
                sum = sum == null ? r.select(0, p) : sum.add(r.select(0, p));
                n++;
            }
            perPos.add(sum.div(n));
        }
        return Tensor.stack(0, perPos.toArray(Tensor[]::new)).unsqueeze(0);
    }

    /** Per batch row, one seeded draw among the references (cropped or zero-padded to the needed length). */
    private static Tensor resample(List<Tensor> refs, Target t, int batch, int needed, long seed) {
        int seqAxis = t instanceof Target.Pattern ? 1 : 0;
        List<Tensor> eligible = refs.stream().filter(r -> r.size(seqAxis) >= needed).toList();
        Rng rng = new Rng(seed);
        List<Tensor> rows = new ArrayList<>();
        for (int b = 0; b < batch; b++) rows.add(eligible.get(rng.nextInt(eligible.size())));
        if (t instanceof Target.Pattern) {
            int len = rows.stream().mapToInt(r -> r.size(1)).min().orElseThrow();
            return Tensor.stack(0, rows.stream().map(r -> r.narrow(1, 0, len).narrow(2, 0, len)).toArray(Tensor[]::new));
        }
        int len = rows.stream().mapToInt(r -> r.size(0)).max().orElseThrow();
        return Tensor.stack(0, rows.stream().map(r -> padTo(r, len)).toArray(Tensor[]::new));
    }

    private static Tensor padTo(Tensor r, int len) {
        if (r.size(0) == len) return r;
        int[] shape = r.shape();
        shape[0] = len - r.size(0);
        return Tensor.cat(0, r, Tensor.zeros(shape));
    }
}
