package dev.loupe.tensor.cpu;

import dev.loupe.tensor.AdamWUpdate;
import dev.loupe.tensor.Backend;
import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.SgdUpdate;
import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;

/**
 * The built-in backend: float32 on the Java heap, SIMD through the Vector API, split over cores. Operands on other
 * CPU storages (memory-mapped files, bf16/f16) are read through a widening heap copy, so every op accepts them; the
 * ops that meet whole weight matrices avoid copying them whole: matmul widens its right operand a column block at a
 * time, indexSelect (embedding lookups) only the selected slices.
 */
public final class CpuBackend implements Backend {
    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Storage allocate(int numel) {
        return new FloatStorage(numel);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        ElementwiseKernels.copy(src, dst);
    }

    @Override
    public void fill(Tensor dst, float value) {
        ElementwiseKernels.fill(dst, value);
    }

    @Override
    public void unary(UnaryOp op, Tensor a, float p0, float p1, Tensor out) {
        a = heap(a);
        ElementwiseKernels.unary(op, a, p0, p1, out);
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        a = heap(a);
        b = heap(b);
        ElementwiseKernels.binary(op, a, b, out);
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        cond = heap(cond);
        a = heap(a);
        b = heap(b);
        ElementwiseKernels.where(cond, a, b, out);
    }

    @Override
    public void reduce(ReduceOp op, Tensor a, int dim, Tensor out) {
        a = heap(a);
        ReduceKernels.reduce(op, a, dim, out);
    }

    @Override
    public void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices) {
        a = heap(a);
        ReduceKernels.argReduce(max, a, dim, values, indices);
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        product(a, b, null, null, out, accumulate);
    }

    @Override
    public void matmulBias(Tensor a, Tensor b, Tensor bias, Tensor out) {
        product(a, b, bias, null, out, false);
    }

    @Override
    public void matmulBiasUnary(Tensor a, Tensor b, Tensor bias, UnaryOp op, Tensor out) {
        product(a, b, bias, op, out, false);
    }

    private static void product(Tensor a, Tensor b, Tensor bias, UnaryOp act, Tensor out, boolean accumulate) {
        a = heap(a);
        if (bias != null) bias = heap(bias).contiguous();
        if (b.storage() instanceof FloatStorage) {
            Gemm.batched(a, b, bias, act, out, accumulate);
        } else {
            Gemm.batchedWidening(a, b, bias, act, out, accumulate);
        }
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, float scale, Tensor mask, Tensor out, Tensor lse) {
        AttentionKernel.attention(heap(q), heap(k), heap(v), scale, heap(mask), out, lse);
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor gOut, float scale,
                                  Tensor mask, Tensor gq, Tensor gk, Tensor gv) {
        AttentionKernel.attentionBackward(heap(q), heap(k), heap(v), out, lse, gOut, scale, heap(mask), gq, gk, gv);
    }

    @Override
    public void softmax(Tensor a, boolean log, Tensor out) {
        a = heap(a);
        NNKernels.softmax(a, log, out);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        y = heap(y);
        gy = heap(gy);
        NNKernels.softmaxBackward(y, gy, log, gx);
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        x = heap(x);
        weight = heap(weight);
        bias = heap(bias);
        NNKernels.layerNorm(x, weight, bias, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor gy,
                                  Tensor gx, Tensor gWeight, Tensor gBias) {
        x = heap(x);
        weight = heap(weight);
        mean = heap(mean);
        rstd = heap(rstd);
        gy = heap(gy);
        NNKernels.layerNormBackward(x, weight, mean, rstd, gy, gx, gWeight, gBias);
    }

    @Override
    public void indexSelect(Tensor a, int dim, Tensor index, Tensor out) {
        index = heap(index);
        if (a.storage() instanceof FloatStorage) {
            IndexKernels.indexSelect(a, dim, index, out);
            return;
        }
        // Mapped or half-precision: widen only the selected slices (an embedding lookup reads a few rows of a
        // table that may be larger than the heap).
        float[] ids = index.toFloatArray();
        Tensor src = a.detach(), dst = out.detach();
        for (int i = 0; i < ids.length; i++) ElementwiseKernels.copy(src.select(dim, (int) ids[i]), dst.select(dim, i));
    }

    @Override
    public void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        index = heap(index);
        src = heap(src);
        IndexKernels.indexAdd(dst, dim, index, src);
    }

    @Override
    public void gather(Tensor a, int dim, Tensor index, Tensor out) {
        a = heap(a);
        index = heap(index);
        IndexKernels.gather(a, dim, index, out);
    }

    @Override
    public void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        index = heap(index);
        src = heap(src);
        IndexKernels.scatterAdd(dst, dim, index, src);
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWUpdate update) {
        OptimizerKernels.adamW(param, heap(grad), m, v, update);
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor buffer, SgdUpdate update) {
        OptimizerKernels.sgd(param, heap(grad), buffer, update);
    }

    @Override
    public void topK(Tensor a, int k, boolean largest, Tensor values, Tensor indices) {
        a = heap(a);
        IndexKernels.topK(a, k, largest, values, indices);
    }

    /**
     * {@code t} itself when its elements are float32 on the heap; otherwise (memory-mapped, bf16/f16) a contiguous
     * heap copy of its view, widened through {@link Storage#read}. The slow path: models convert mapped weights once.
     */
    private static Tensor heap(Tensor t) {
        if (t == null || t.storage() instanceof FloatStorage) return t;
        Tensor copy = Tensor.zeros(t.shape());
        ElementwiseKernels.copy(t, copy);
        return copy;
    }
}
