package dev.loupe.tensor.cpu;

import dev.loupe.tensor.Backend;
import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;

/** The built-in backend: float32 on the Java heap, SIMD through the Vector API, split over cores. */
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
        ElementwiseKernels.unary(op, a, p0, p1, out);
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        ElementwiseKernels.binary(op, a, b, out);
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        ElementwiseKernels.where(cond, a, b, out);
    }

    @Override
    public void reduce(ReduceOp op, Tensor a, int dim, Tensor out) {
        ReduceKernels.reduce(op, a, dim, out);
    }

    @Override
    public void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices) {
        ReduceKernels.argReduce(max, a, dim, values, indices);
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        Gemm.batched(a, b, out, accumulate);
    }

    @Override
    public void softmax(Tensor a, boolean log, Tensor out) {
        throw new UnsupportedOperationException("softmax: not yet implemented");
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        throw new UnsupportedOperationException("softmaxBackward: not yet implemented");
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        throw new UnsupportedOperationException("layerNorm: not yet implemented");
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor gy,
                                  Tensor gx, Tensor gWeight, Tensor gBias) {
        throw new UnsupportedOperationException("layerNormBackward: not yet implemented");
    }

    @Override
    public void indexSelect(Tensor a, int dim, Tensor index, Tensor out) {
        throw new UnsupportedOperationException("indexSelect: not yet implemented");
    }

    @Override
    public void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        throw new UnsupportedOperationException("indexAdd: not yet implemented");
    }

    @Override
    public void gather(Tensor a, int dim, Tensor index, Tensor out) {
        throw new UnsupportedOperationException("gather: not yet implemented");
    }

    @Override
    public void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        throw new UnsupportedOperationException("scatterAdd: not yet implemented");
    }

    @Override
    public void topK(Tensor a, int k, boolean largest, Tensor values, Tensor indices) {
        throw new UnsupportedOperationException("topK: not yet implemented");
    }
}
