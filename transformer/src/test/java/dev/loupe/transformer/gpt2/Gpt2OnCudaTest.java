package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.kernels.Cuda;
import dev.loupe.tensor.Device;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Whole models on the real CUDA device against the CPU: {@link DeviceScenario}'s forward and backward with hooks,
 * cached gradients, parameter gradients and a KV-cached continuation. Tolerance: 1e-4 times each reference tensor's
 * largest magnitude (the exact FP32 GEMM, {@code CudaBackend}'s default; the kernels sum in other orders than the
 * CPU's). Skipped, with the probe's reason, where there is no CUDA device; {@code bench/gpu-bundle.sh} ships it.
 */
class Gpt2OnCudaTest {
    private static final double RTOL = 1e-4;

    @BeforeEach
    void device() { // per test, so that each reports the reason it was skipped
        assumeTrue(Cuda.available(), () -> "no CUDA device: " + Cuda.unavailableReason());
    }

    @Test
    void gpt2ForwardBackwardWithHooksMatchTheCpu() {
        DeviceScenario.compare(DeviceScenario.run(TestModels::gpt2, 71, Device.CPU),
                DeviceScenario.run(TestModels::gpt2, 71, Cuda.device()), RTOL);
    }

    @Test
    void gptNeoWithLocalAttentionMatchesTheCpu() {
        DeviceScenario.compare(DeviceScenario.run(TestModels::neo, 72, Device.CPU),
                DeviceScenario.run(TestModels::neo, 72, Cuda.device()), RTOL);
    }

    /**
     * Three Trainer steps (AdamW, clipping) and three SGD steps on the GPU against the CPU. The update kernels round
     * as the CPU does, so the differences come only from the gradients' summation order; 1e-4 of each parameter's
     * scale allows for them (lr 1e-3, so an update is at most ~1e-3 per step).
     */
    @Test
    void trainingStepsMatchTheCpu() {
        DeviceTraining.compare(DeviceTraining.trainer(73, Device.CPU, 3), DeviceTraining.trainer(73, Cuda.device(), 3),
                DeviceTraining.initial(73), RTOL);
        DeviceTraining.compare(DeviceTraining.sgd(74, Device.CPU, 3), DeviceTraining.sgd(74, Cuda.device(), 3),
                DeviceTraining.initial(74), RTOL);
    }

    @Test
    void greedyGenerationMatchesTheCpu() {
        DeviceTraining.compareTokens(DeviceTraining.greedy(75, Device.CPU), DeviceTraining.greedy(75, Cuda.device()));
    }
}
