package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.fake.FakeDeviceBackend;
import dev.loupe.transformer.TokenBatch;
import org.junit.jupiter.api.Test;

/**
 * Whole models on the fake device ({@link FakeDeviceBackend}: CPU kernels behind storage of its own, asserting that
 * every operand of every primitive lives on it). A host tensor anywhere in a forward or backward pass (a mask, ids,
 * positions, a constant in a gradient) fails the backend's assertion; with none, the results must equal the CPU's
 * within {@link #RTOL}, since the kernels are the same.
 */
class Gpt2OnFakeDeviceTest {
    private static final FakeDeviceBackend FAKE = FakeDeviceBackend.install();
    /**
     * The fake device computes with the CPU kernels, but a kernel's JIT-compiled SIMD reductions round differently
     * from its interpreted ones, so two runs in one JVM may differ in the last bit when a kernel is compiled between
     * them, and a whole forward and backward pass amplifies those last bits (a LayerNorm-scale gradient was seen 5e-6
     * apart). The same bound as {@code Gpt2OnCudaTest}. CPU constants leaking onto the device are caught by the
     * backend's own assertions, not by this tolerance.
     */
    static final double RTOL = 1e-4;

    @Test
    void gpt2ForwardBackwardWithHooksAndKvCacheEqualTheCpu() {
        int before = FAKE.calls("matmul");
        DeviceScenario.Snapshot dev = DeviceScenario.run(TestModels::gpt2, 61, FAKE.device());
        assertTrue(FAKE.calls("matmul") > before, "the work ran on the fake device");
        DeviceScenario.compare(DeviceScenario.run(TestModels::gpt2, 61, Device.CPU), dev, RTOL);
    }

    @Test
    void gptNeoWithLocalAttentionAndNoQkvBiasEqualsTheCpu() {
        DeviceScenario.compare(DeviceScenario.run(TestModels::neo, 62, Device.CPU),
                DeviceScenario.run(TestModels::neo, 62, FAKE.device()), RTOL);
    }

    @Test
    void movingAModelKeepsTheTieAndLeavesTheOriginalOnTheCpu() {
        Gpt2Model cpu = TestModels.gpt2(63);
        Gpt2Model dev = cpu.to(FAKE.device());
        assertSame(cpu, cpu.to(Device.CPU));
        assertSame(dev, dev.to(FAKE.device()));
        assertNotSame(cpu, dev);
        assertEquals(Device.CPU, cpu.device());
        assertTrue(dev.weights().tied(), "the unembedding is still a view of wte");
        for (Tensor t : dev.weights().leaves()) {
            assertEquals(FAKE.device(), t.device());
            assertTrue(t.isLeaf());
        }
        TokenBatch batch = TokenBatch.of(new int[] {1, 2, 3});
        TestModels.assertSame(cpu.forward(batch), dev.forward(batch).to(Device.CPU), "logits after the move");
    }

    @Test
    void trainerStepsWithAdamWAndClippingEqualTheCpu() {
        int before = FAKE.calls("adamW");
        DeviceTraining.Run dev = DeviceTraining.trainer(64, FAKE.device(), 3);
        assertTrue(FAKE.calls("adamW") > before, "the update ran on the fake device");
        DeviceTraining.compare(DeviceTraining.trainer(64, Device.CPU, 3), dev, DeviceTraining.initial(64), RTOL);
    }

    @Test
    void sgdWithNesterovMomentumEqualsTheCpu() {
        int before = FAKE.calls("sgd");
        DeviceTraining.Run dev = DeviceTraining.sgd(65, FAKE.device(), 3);
        assertTrue(FAKE.calls("sgd") > before, "the update ran on the fake device");
        DeviceTraining.compare(DeviceTraining.sgd(65, Device.CPU, 3), dev, DeviceTraining.initial(65), RTOL);
    }

    @Test
    void greedyGenerationEqualsTheCpu() {
        DeviceTraining.compareTokens(DeviceTraining.greedy(66, Device.CPU), DeviceTraining.greedy(66, FAKE.device()));
    }
}
