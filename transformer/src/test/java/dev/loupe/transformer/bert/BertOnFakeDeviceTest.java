package dev.loupe.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.fake.FakeDeviceBackend;
import dev.loupe.transformer.hooks.ActivationCache;
import dev.loupe.transformer.hooks.Hooks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * BERT on the fake device ({@link FakeDeviceBackend}, which fails on any host operand) against the CPU: a padded
 * batch with every point and its gradient cached, masked-LM logits, pooled embedding and every parameter's gradient,
 * within 1e-4 of each tensor's largest value (the fake computes with the CPU kernels, but JIT-compiled and interpreted
 * SIMD reductions round apart, and a forward and backward pass amplifies that: 5e-6 was seen on a LayerNorm-scale
 * gradient).
 */
class BertOnFakeDeviceTest {
    private static final Device FAKE = FakeDeviceBackend.install().device();

    private record Run(Map<String, Tensor> out) {
    }

    private static Run run(Device device) throws Exception {
        BertModel model = BertModel.load(BertFixtures.path("mlm")).to(device);
        model.weights().requireGrad();
        BertInput in = BertInput.ofIds(new int[] {1, 7, 3, 39, 12, 5, 2}, new int[] {1, 20, 33, 2});
        Hooks hooks = Hooks.builder().cacheAll().cacheGradients()
                .backward("blocks.0.hook_resid_mid", (g, n) -> g.mul(0.5f)).build();
        BertModel.Output o = model.runMaskedLm(in, hooks);
        Tensor r = Tensor.randn(new Rng(3), o.logits().shape()).to(device);
        o.logits().mul(r).sum().add(o.embedding().sum()).backward();
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("logits", o.logits());
        out.put("embedding", o.embedding());
        if (o.pooler() != null) out.put("pooler", o.pooler());
        ActivationCache c = o.cache();
        for (String n : c.names()) out.put(n, c.get(n));
        for (String n : c.gradNames()) out.put("grad " + n, c.grad(n));
        List<Tensor> leaves = model.weights().leaves();
        for (int i = 0; i < leaves.size(); i++) {
            if (leaves.get(i).grad() != null) out.put("parameter " + i, leaves.get(i).grad()); // the pooler has none
        }
        for (Map.Entry<String, Tensor> e : out.entrySet()) assertEquals(device, e.getValue().device(), e.getKey());
        return new Run(out);
    }

    @Test
    void maskedLmForwardAndBackwardWithHooksEqualTheCpu() throws Exception {
        Run cpu = run(Device.CPU), dev = run(FAKE);
        assertEquals(cpu.out().keySet(), dev.out().keySet());
        assertFalse(cpu.out().size() < 10, "the run caches activations and gradients");
        cpu.out().forEach((n, t) -> {
            Tensor d = dev.out().get(n);
            assertArrayEquals(t.shape(), d.shape(), n);
            // within 1e-4 of the tensor's largest |value|: JIT-compiled and interpreted SIMD reductions round apart
            float[] want = t.toFloatArray(), got = d.toFloatArray();
            float scale = 1;
            for (float v : want) if (Float.isFinite(v)) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4f * scale, n + " at " + i);
        });
    }
}
