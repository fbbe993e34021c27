package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.fake.FakeDeviceBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every front-end op, forward and backward, on the fake device ({@link FakeDeviceBackend}: CPU kernels behind its
 * own storage, asserting that every operand lives on it) against the same op on the CPU. The fake computes with the
 * CPU kernels, so the two must agree bit for bit; what this holds is the front end: that ops and their gradient
 * functions dispatch to the operands' device and make every constant they need there (a host constant would reach
 * the fake backend and fail its assertion).
 *
 * <p>Each case is a function of its inputs: the first {@code diff} inputs are differentiable, the rest constants
 * (indices, masks, conditions). The loss is Σ r ⊙ f(x) for a fixed random r; compared are f(x) and every gradient.
 */
class DeviceParityTest {
    private static final Device FAKE = FakeDeviceBackend.install().device();

    private record Case(String name, Function<Tensor[], Tensor> f, int diff, Tensor... inputs) {
    }

    private static Tensor randn(long seed, int... shape) {
        return Tensor.randn(new Rng(seed), shape);
    }

    private static Tensor positive(long seed, int... shape) {
        return randn(seed, shape).abs().add(0.5f);
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        Tensor x = randn(1, 3, 5), y = randn(2, 3, 5), row = randn(3, 5), col = randn(4, 3, 1), pos = positive(5, 3, 5);
        // unary (every UnaryOp through the front end; the GELU gradients use their *_GRAD ops)
        c.add(new Case("neg", t -> t[0].neg(), 1, x));
        c.add(new Case("exp", t -> t[0].exp(), 1, x));
        c.add(new Case("log", t -> t[0].log(), 1, pos));
        c.add(new Case("sqrt", t -> t[0].sqrt(), 1, pos));
        c.add(new Case("rsqrt", t -> t[0].rsqrt(), 1, pos));
        c.add(new Case("square", t -> t[0].square(), 1, x));
        c.add(new Case("reciprocal", t -> t[0].reciprocal(), 1, pos));
        c.add(new Case("tanh", t -> t[0].tanh(), 1, x));
        c.add(new Case("sigmoid", t -> t[0].sigmoid(), 1, x));
        c.add(new Case("relu", t -> t[0].relu(), 1, x));
        c.add(new Case("gelu", t -> t[0].gelu(), 1, x));
        c.add(new Case("geluTanh", t -> t[0].geluTanh(), 1, x));
        c.add(new Case("abs", t -> t[0].abs(), 1, x));
        c.add(new Case("sign", t -> t[0].sign().add(t[0]), 1, x));
        c.add(new Case("clamp", t -> t[0].clamp(-0.5f, 0.7f), 1, x));
        c.add(new Case("scalar arithmetic", t -> t[0].add(1.5f).sub(0.25f).mul(3f).div(2f), 1, x));
        c.add(new Case("pow(float)", t -> t[0].pow(2.5f), 1, pos));
        // binary, broadcasting both ways
        c.add(new Case("add", t -> t[0].add(t[1]), 2, x, row));
        c.add(new Case("sub", t -> t[0].sub(t[1]), 2, col, row));
        c.add(new Case("mul", t -> t[0].mul(t[1]), 2, x, col));
        c.add(new Case("div", t -> t[0].div(t[1]), 2, x, pos));
        c.add(new Case("pow(tensor)", t -> t[0].pow(t[1]), 2, pos, row));
        c.add(new Case("maximum (with ties)", t -> t[0].maximum(t[1]), 2, x, x.mul(0f).add(x.narrow(0, 0, 1))));
        c.add(new Case("minimum", t -> t[0].minimum(t[1]), 2, x, y));
        c.add(new Case("comparisons", t -> t[0].gt(0f).add(t[0].le(t[1])).add(t[0].eq(0.5f)).add(t[0].ne(t[1]))
                .add(t[0].ge(-0.1f)).add(t[0].lt(0.3f)).mul(t[0]), 2, x, y));
        c.add(new Case("where", t -> Tensor.where(t[2], t[0], t[1]), 2, x, row, y.gt(0f)));
        c.add(new Case("maskedFill", t -> t[0].maskedFill(t[1], -3f), 1, x, row.gt(0f)));
        // reductions
        Tensor withInfRow = Tensor.cat(0, x, Tensor.full(Float.NEGATIVE_INFINITY, 1, 5));
        Tensor withZeroRow = Tensor.cat(0, x, Tensor.zeros(1, 5));
        c.add(new Case("sum", t -> t[0].sum(1).add(t[0].sum()), 1, x));
        c.add(new Case("sum dims keepdim", t -> t[0].sum(new int[] {0, 2}, true), 1, randn(6, 2, 3, 4)));
        c.add(new Case("mean", t -> t[0].mean(0, true).add(t[0].mean()), 1, x));
        c.add(new Case("max/min", t -> t[0].max(1, false).add(t[0].min(1, false)), 1, x));
        c.add(new Case("argmax/argmin", t -> t[0].argmax(1, true).add(t[0].argmin(0, false)).mul(t[0]), 1, x));
        c.add(new Case("logsumexp (a -inf row)", t -> t[0].logsumexp(1, false), 1, withInfRow));
        c.add(new Case("var", t -> t[0].var(1, true, 1), 1, x));
        c.add(new Case("norm 2 (a zero row)", t -> t[0].norm(2f, 1, false), 1, withZeroRow));
        c.add(new Case("norm 1 and 3", t -> t[0].norm(1f, 0, true).add(t[0].norm(3f, 0, true)), 1, x));
        c.add(new Case("cosineSimilarity", t -> t[0].cosineSimilarity(t[1], 1, 1e-8f), 2, x, row));
        c.add(new Case("sumTo", t -> t[0].sumTo(1, 5), 1, x));
        // linear algebra
        c.add(new Case("matmul", t -> t[0].matmul(t[1]), 2, x, randn(7, 5, 4)));
        c.add(new Case("matmul batched broadcast", t -> t[0].matmul(t[1]), 2, randn(8, 2, 3, 4), randn(9, 4, 2)));
        c.add(new Case("matmul vector", t -> t[0].matmul(t[1]), 2, x, row));
        c.add(new Case("matmul transposed", t -> t[0].transpose(0, 1).matmul(t[1].transpose(0, 1)), 2, x,
                randn(17, 4, 3)));
        c.add(new Case("einsum", t -> Tensor.einsum("bqhd,bkhd->bhqk", t[0], t[1]), 2, randn(10, 2, 3, 2, 4),
                randn(11, 2, 5, 2, 4)));
        // neural-network ops
        c.add(new Case("softmax", t -> t[0].softmax(-1).add(t[0].softmax(0)), 1, x));
        c.add(new Case("logSoftmax", t -> t[0].logSoftmax(1), 1, x));
        c.add(new Case("layerNorm", t -> t[0].layerNorm(t[1], t[2], 1e-5f), 3, randn(12, 2, 3, 5), row, y.select(0, 1)));
        c.add(new Case("layerNorm without affine", t -> t[0].layerNorm(null, null, 1e-5f), 1, x));
        c.add(new Case("crossEntropy (an ignored row)", t -> t[0].crossEntropy(t[1]), 1, randn(13, 4, 6),
                Tensor.indices(2, -1, 5, 0)));
        c.add(new Case("crossEntropy (all ignored)", t -> t[0].crossEntropy(t[1]), 1, randn(14, 2, 6),
                Tensor.indices(-1, -1)));
        c.add(new Case("embedding", t -> Tensor.embedding(t[0], t[1]), 1, randn(15, 7, 3),
                Tensor.indices(new int[][] {{1, 6, 1}, {0, 2, 3}})));
        // indexing and joining
        c.add(new Case("indexSelect", t -> t[0].indexSelect(1, t[1]), 1, x, Tensor.indices(4, 0, 4)));
        c.add(new Case("gather", t -> t[0].gather(1, t[1]), 1, x, Tensor.indices(new int[][] {{0, 4}, {1, 1}, {3, 2}})));
        c.add(new Case("scatterAdd", t -> t[0].scatterAdd(1, t[2], t[1]), 2, x, randn(16, 3, 2),
                Tensor.indices(new int[][] {{0, 4}, {1, 1}, {3, 2}})));
        c.add(new Case("cat/stack", t -> Tensor.cat(0, t[0], t[1]).add(Tensor.stack(0, t[0], t[1]).flatten(0, 1)), 2,
                x, y));
        c.add(new Case("split", t -> t[0].split(1, 2).get(1).mul(t[0].split(1, 1, 4).get(0)), 1, x));
        c.add(new Case("topK", t -> t[0].topK(2, 1, true).values().add(t[0].topK(2, 0, false).values().sum()), 1, x));
        // views and copies
        c.add(new Case("views", t -> t[0].transpose(0, 1).reshape(15).view(5, 3).permute(1, 0).narrow(1, 1, 3)
                .slice(1, 0, 3, 2).unsqueeze(0).expand(2, 3, 2).select(0, 1).unsqueeze(2).squeeze(2).contiguous()
                .select(1, 1), 1, x));
        c.add(new Case("to the CPU and back", t -> t[0].to(Device.CPU).mul(2f).to(t[0].device()).exp(), 1, x));
        return c;
    }

    /**
     * Without gradients, linear and attention run as one fused CPU kernel; a backend without those kernels gets
     * {@link Backend}'s composite defaults (bias then accumulate; scores, softmax, product), which round differently.
     */
    @Test
    void fusedInferenceOpsFallBackToTheBackendDefaults() {
        Tensor x = randn(30, 6, 5), w = randn(31, 5, 7), b = randn(32, 7);
        Tensor q = randn(33, 2, 4, 3, 8), k = randn(34, 2, 6, 3, 8), v = randn(35, 2, 6, 3, 8);
        Tensor mask = Tensor.zeros(2, 1, 4, 6).maskedFill(randn(36, 2, 1, 4, 6).gt(0.8f), Float.NEGATIVE_INFINITY);
        Tensor linear = x.linear(w, b), attention = Tensor.attention(q, k, v, 0.35f, mask);
        Tensor linearFake = x.to(FAKE).linear(w.to(FAKE), b.to(FAKE));
        Tensor attentionFake = Tensor.attention(q.to(FAKE), k.to(FAKE), v.to(FAKE), 0.35f, mask.to(FAKE));
        assertEquals(FAKE, linearFake.device());
        assertEquals(FAKE, attentionFake.device());
        assertClose(linear, linearFake.to(Device.CPU), "linear");
        assertClose(attention, attentionFake.to(Device.CPU), "attention");
        Tensor geluFake = x.to(FAKE).linear(w.to(FAKE), b.to(FAKE), UnaryOp.GELU_ERF);
        assertEquals(FAKE, geluFake.device());
        assertClose(linear.gelu(), geluFake.to(Device.CPU), "linear with GELU");
    }

    /** Attention's gradient on a backend without the kernel: the composite default of Backend.attentionBackward. */
    @Test
    void attentionGradientFallsBackToTheBackendDefault() {
        Tensor q = randn(40, 2, 4, 3, 8), k = randn(41, 2, 6, 3, 8), v = randn(42, 2, 6, 3, 8);
        Tensor mask = Tensor.zeros(2, 1, 4, 6).maskedFill(randn(43, 2, 1, 4, 6).gt(0.8f), Float.NEGATIVE_INFINITY);
        Tensor probe = randn(44, 2, 4, 3, 8);
        Tensor[] cpu = {q.detach().setRequiresGrad(true), k.detach().setRequiresGrad(true),
                v.detach().setRequiresGrad(true)};
        Tensor.attention(cpu[0], cpu[1], cpu[2], 0.35f, mask).mul(probe).sum().backward();
        Tensor[] fake = {q.to(FAKE).setRequiresGrad(true), k.to(FAKE).setRequiresGrad(true),
                v.to(FAKE).setRequiresGrad(true)};
        Tensor.attention(fake[0], fake[1], fake[2], 0.35f, mask.to(FAKE)).mul(probe.to(FAKE)).sum().backward();
        for (int i = 0; i < 3; i++) {
            assertEquals(FAKE, fake[i].grad().device());
            assertClose(cpu[i].grad(), fake[i].grad().to(Device.CPU), "gradient " + i);
        }
    }

    private static void assertClose(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], 1e-5f * (1 + Math.abs(e[i])), what + " at " + i);
        }
    }

    @TestFactory
    List<DynamicTest> everyOpAndItsGradientMatchTheCpu() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case k : cases()) tests.add(DynamicTest.dynamicTest(k.name(), () -> check(k)));
        return tests;
    }

    private static void check(Case k) {
        Result cpu = run(k, Device.CPU), fake = run(k, FAKE);
        assertEquals(FAKE, fake.out.device(), k.name() + ": the result should stay on the device");
        assertArrayEquals(cpu.out.shape(), fake.out.shape(), k.name() + ": shape");
        assertWithin(cpu.out, fake.out, k.name() + ": value");
        for (int i = 0; i < k.diff(); i++) {
            if (cpu.grads[i] == null) continue;
            assertNotNull(fake.grads[i], k.name() + ": gradient of input " + i);
            assertEquals(FAKE, fake.grads[i].device(), k.name() + ": gradient of input " + i + " should stay there");
            assertWithin(cpu.grads[i], fake.grads[i], k.name() + ": gradient of input " + i);
        }
    }

    /**
     * Equal within 1e-6 of the reference's largest |value| (non-finite values exactly): the fake device computes with
     * the CPU kernels, whose JIT-compiled SIMD reductions round differently from their interpreted ones, so a kernel
     * compiled between the two runs may move the last bit. Leaked CPU operands fail in the backend, not here.
     */
    private static void assertWithin(Tensor want, Tensor got, String what) {
        float[] w = want.toFloatArray(), g = got.toFloatArray();
        assertEquals(w.length, g.length, what + ": size");
        float scale = 1;
        for (float v : w) if (Float.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < w.length; i++) {
            if (Float.isFinite(w[i])) assertEquals(w[i], g[i], 1e-6f * scale, what + " at " + i);
            else assertEquals(Float.floatToIntBits(w[i]), Float.floatToIntBits(g[i]), what + " at " + i);
        }
    }

    private record Result(Tensor out, Tensor[] grads) {
    }

    private static Result run(Case k, Device device) {
        Tensor[] in = new Tensor[k.inputs().length];
        for (int i = 0; i < in.length; i++) {
            in[i] = k.inputs()[i].to(device);
            if (in[i] == k.inputs()[i]) in[i] = in[i].detach(); // a fresh leaf on the CPU too
            if (i < k.diff()) in[i].setRequiresGrad(true);
        }
        Tensor out = k.f().apply(in);
        Tensor[] grads = new Tensor[k.diff()];
        if (out.requiresGrad()) {
            Tensor r = randn(99, out.shape()).to(device);
            out.mul(r).sum().backward();
            for (int i = 0; i < grads.length; i++) grads[i] = in[i].grad();
        }
        assertFalse(device.equals(FAKE) && !out.device().equals(FAKE), k.name() + " left the device");
        return new Result(out.detach(), grads);
    }

    @TestFactory
    List<DynamicTest> theFakeBackendRefusesHostOperands() {
        Backend fake = FakeDeviceBackend.install();
        Tensor host = Tensor.ones(2, 2), dev = host.to(FAKE), out = Tensor.zeros(FAKE, 2, 2);
        return List.of(
                DynamicTest.dynamicTest("binary", () -> assertTrue(refused(() -> fake.binary(BinaryOp.ADD, dev, host, out)))),
                DynamicTest.dynamicTest("matmul", () -> assertTrue(refused(() -> fake.matmul(host, dev, out, false)))),
                DynamicTest.dynamicTest("copy", () -> assertTrue(refused(() -> fake.copy(host, out)))),
                DynamicTest.dynamicTest("accepts its own", () -> assertFalse(refused(() -> fake.copy(dev, out)))));
    }

    private static boolean refused(Runnable r) {
        try {
            r.run();
            return false;
        } catch (AssertionError e) {
            return e.getMessage().contains("not on the fake device");
        }
    }
}
