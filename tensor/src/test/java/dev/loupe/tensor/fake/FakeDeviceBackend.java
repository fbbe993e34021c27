package dev.loupe.tensor.fake;

import dev.loupe.tensor.AdamWUpdate;
import dev.loupe.tensor.Backend;
import dev.loupe.tensor.Backends;
import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.SgdUpdate;
import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;
import dev.loupe.tensor.cpu.CpuBackend;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A test-only device that keeps "runs on a device" honest without a GPU. It serves {@link #DEVICE} (cuda:7, an
 * ordinal no real backend registers) with its own {@link FakeStorage} and computes every primitive with the CPU
 * kernels on views of those arrays, so its results equal the CPU's exactly; but every method first asserts that each
 * tensor operand lives in a {@link FakeStorage} of this device. A host constant that an op or a model lets slip in
 * beside device tensors (a {@code Tensor.scalar}, a mask, an index tensor) therefore fails loudly here, where on a
 * real GPU it would be a crash or a silent upload.
 *
 * <p>{@link #calls(String)} counts primitives per name, so a test can show that work really ran on the device.
 */
public final class FakeDeviceBackend implements Backend {
    /** The fake device. */
    public static final Device DEVICE = Device.cuda(7);

    private static final FakeDeviceBackend INSTANCE = new FakeDeviceBackend();

    static {
        Backends.register(INSTANCE);
    }

    private final CpuBackend cpu = new CpuBackend();
    private final Map<String, Integer> calls = new ConcurrentHashMap<>();

    private FakeDeviceBackend() {
    }

    /** The backend of {@link #DEVICE}, registered with {@link Backends} (once per process). */
    public static FakeDeviceBackend install() {
        return INSTANCE;
    }

    /** How many times primitive {@code op} ("matmul", "softmax" ...) has run on the fake device so far. */
    public int calls(String op) {
        return calls.getOrDefault(op, 0);
    }

    /** A CPU view of fake-device operand {@code t}, sharing its elements; an {@link AssertionError} otherwise. */
    private Tensor host(String op, Tensor t) {
        if (t == null) return null;
        if (!(t.storage() instanceof FakeStorage s) || !t.device().equals(DEVICE)) {
            throw new AssertionError(op + ": an operand of shape " + java.util.Arrays.toString(t.shape()) + " lives on "
                    + t.device() + " (" + t.storage().getClass().getSimpleName() + "), not on the fake device "
                    + DEVICE);
        }
        return Tensor.fromStorage(s.hostView(), t.shape(), t.strides(), t.offset());
    }

    private void count(String op) {
        calls.merge(op, 1, Integer::sum);
    }

    @Override
    public Device device() {
        return DEVICE;
    }

    @Override
    public Storage allocate(int numel) {
        count("allocate");
        return new FakeStorage(numel, DEVICE);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        count("copy");
        cpu.copy(host("copy", src), host("copy", dst));
    }

    @Override
    public void fill(Tensor dst, float value) {
        count("fill");
        cpu.fill(host("fill", dst), value);
    }

    @Override
    public void unary(UnaryOp op, Tensor a, float p0, float p1, Tensor out) {
        count("unary");
        cpu.unary(op, host(op.label(), a), p0, p1, host(op.label(), out));
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        count("binary");
        String n = op.label();
        cpu.binary(op, host(n, a), host(n, b), host(n, out));
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        count("where");
        cpu.where(host("where", cond), host("where", a), host("where", b), host("where", out));
    }

    @Override
    public void reduce(ReduceOp op, Tensor a, int dim, Tensor out) {
        count("reduce");
        cpu.reduce(op, host("reduce", a), dim, host("reduce", out));
    }

    @Override
    public void argReduce(boolean max, Tensor a, int dim, Tensor values, Tensor indices) {
        count("argReduce");
        cpu.argReduce(max, host("argReduce", a), dim, host("argReduce", values), host("argReduce", indices));
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        count("matmul");
        cpu.matmul(host("matmul", a), host("matmul", b), host("matmul", out), accumulate);
    }

    @Override
    public void softmax(Tensor a, boolean log, Tensor out) {
        count("softmax");
        cpu.softmax(host("softmax", a), log, host("softmax", out));
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        count("softmaxBackward");
        String n = "softmaxBackward";
        cpu.softmaxBackward(host(n, y), host(n, gy), log, host(n, gx));
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        count("layerNorm");
        String n = "layerNorm";
        cpu.layerNorm(host(n, x), host(n, weight), host(n, bias), eps, host(n, out), host(n, mean), host(n, rstd));
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor gy, Tensor gx,
                                  Tensor gWeight, Tensor gBias) {
        count("layerNormBackward");
        String n = "layerNormBackward";
        cpu.layerNormBackward(host(n, x), host(n, weight), host(n, mean), host(n, rstd), host(n, gy), host(n, gx),
                host(n, gWeight), host(n, gBias));
    }

    @Override
    public void indexSelect(Tensor a, int dim, Tensor index, Tensor out) {
        count("indexSelect");
        cpu.indexSelect(host("indexSelect", a), dim, host("indexSelect", index), host("indexSelect", out));
    }

    @Override
    public void indexAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        count("indexAdd");
        cpu.indexAdd(host("indexAdd", dst), dim, host("indexAdd", index), host("indexAdd", src));
    }

    @Override
    public void gather(Tensor a, int dim, Tensor index, Tensor out) {
        count("gather");
        cpu.gather(host("gather", a), dim, host("gather", index), host("gather", out));
    }

    @Override
    public void scatterAdd(Tensor dst, int dim, Tensor index, Tensor src) {
        count("scatterAdd");
        cpu.scatterAdd(host("scatterAdd", dst), dim, host("scatterAdd", index), host("scatterAdd", src));
    }

    @Override
    public void topK(Tensor a, int k, boolean largest, Tensor values, Tensor indices) {
        count("topK");
        cpu.topK(host("topK", a), k, largest, host("topK", values), host("topK", indices));
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWUpdate update) {
        count("adamW");
        cpu.adamW(host("adamW", param), host("adamW", grad), host("adamW", m), host("adamW", v), update);
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor buffer, SgdUpdate update) {
        count("sgd");
        cpu.sgd(host("sgd", param), host("sgd", grad), host("sgd", buffer), update);
    }
}
