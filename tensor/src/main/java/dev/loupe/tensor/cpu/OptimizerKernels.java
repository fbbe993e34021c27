package dev.loupe.tensor.cpu;

import dev.loupe.tensor.AdamWUpdate;
import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Parallel;
import dev.loupe.tensor.SgdUpdate;
import dev.loupe.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** In-place optimizer updates over contiguous heap operands, split over cores (memory-bound: one pass each). */
final class OptimizerKernels {
    /** Below this many elements a parameter is updated on the caller's thread. */
    private static final int GRAIN = 1 << 16;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private OptimizerKernels() {
    }

    private static float[] array(Tensor t) {
        return ((FloatStorage) t.storage()).array();
    }

    /** See {@link AdamWUpdate}; param, grad, m, v: contiguous [n] on the heap. */
    static void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWUpdate u) {
        float[] p = array(param), g = array(grad), ma = array(m), va = array(v);
        int po = param.offset(), go = grad.offset(), mo = m.offset(), vo = v.offset();
        float b1 = u.beta1(), b2 = u.beta2(), c1 = u.oneMinusBeta1(), c2 = u.oneMinusBeta2();
        float decay = u.decay(), stepSize = u.stepSize(), bc2Sqrt = u.bc2Sqrt(), e = u.eps();
        Parallel.forRange(param.numel(), GRAIN, (from, to) -> {
            int i = from;
            // One pass over p, g, m, v (28 bytes per element), in SIMD lanes with a scalar tail.
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector gi = FloatVector.fromArray(S, g, go + i);
                FloatVector mi = FloatVector.fromArray(S, ma, mo + i).mul(b1).add(gi.mul(c1));
                FloatVector vi = FloatVector.fromArray(S, va, vo + i).mul(b2).add(gi.mul(gi).mul(c2));
                mi.intoArray(ma, mo + i);
                vi.intoArray(va, vo + i);
                FloatVector denom = vi.sqrt().div(bc2Sqrt).add(e);
                FloatVector pi = FloatVector.fromArray(S, p, po + i).mul(decay);
                pi.sub(mi.div(denom).mul(stepSize)).intoArray(p, po + i);
            }
            for (; i < to; i++) {
                float gi = g[go + i];
                float mi = ma[mo + i] * b1 + gi * c1;
                float vi = va[vo + i] * b2 + gi * gi * c2;
                ma[mo + i] = mi;
                va[vo + i] = vi;
                float pi = p[po + i] * decay;
                p[po + i] = pi - mi / ((float) Math.sqrt(vi) / bc2Sqrt + e) * stepSize;
            }
        });
    }

    /** See {@link SgdUpdate}; param, grad, buffer (null without momentum): contiguous [n] on the heap. */
    static void sgd(Tensor param, Tensor grad, Tensor buffer, SgdUpdate u) {
        float[] p = array(param), g = array(grad), buf = buffer == null ? null : array(buffer);
        int po = param.offset(), go = grad.offset(), bo = buffer == null ? 0 : buffer.offset();
        float wd = u.weightDecay(), mu = u.momentum(), rate = u.lr();
        boolean nest = u.nesterov(), first = u.firstStep();
        Parallel.forRange(param.numel(), GRAIN, (from, to) -> {
            // Fused where PyTorch's add(x, alpha) fuses (its CPU kernel is an fma), so roundings match.
            for (int i = from; i < to; i++) {
                float d = Math.fma(wd, p[po + i], g[go + i]);
                if (buf != null) {
                    float b = first ? d : mu * buf[bo + i] + d;
                    buf[bo + i] = b;
                    d = nest ? Math.fma(mu, b, d) : b;
                }
                p[po + i] = Math.fma(-rate, d, p[po + i]);
            }
        });
    }
}
