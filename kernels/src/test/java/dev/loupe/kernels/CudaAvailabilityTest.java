package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.tensor.Backends;
import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * With or without a GPU, probing CUDA never throws: on a machine without one, {@link Cuda} reports the reason in one
 * line and the CPU backend keeps working; on a machine with one, the device opens and describes itself.
 */
class CudaAvailabilityTest {
    @Test
    void probingNeverThrowsAndGivesAReasonExactlyWhenUnavailable() {
        boolean available = Cuda.available();
        if (available) {
            assertNull(Cuda.unavailableReason());
        } else {
            String reason = Cuda.unavailableReason();
            assertNotNull(reason);
            assertTrue(reason.startsWith("no CUDA driver") || reason.startsWith("no CUDA device")
                    || reason.startsWith("CUDA device unusable") || reason.startsWith("CUDA GEMM"), reason);
            assertTrue(!reason.contains("\n"), "one line: " + reason);
        }
    }

    @Test
    void withoutADeviceTheBackendAndTheDeviceRefuseWithTheReason() {
        assumeFalse(Cuda.available(), "a CUDA device is present");
        IllegalStateException e = assertThrows(IllegalStateException.class, Cuda::backend);
        assertTrue(e.getMessage().contains(Cuda.unavailableReason()), e.getMessage());
        IllegalStateException noBackend = assertThrows(IllegalStateException.class,
                () -> Backends.of(Device.cuda(0)));
        assertTrue(noBackend.getMessage().contains("kernels module"), noBackend.getMessage());
    }

    @Test
    void theCpuPathStillComputesAfterAFailedOrSuccessfulProbe() {
        Cuda.available(); // probe first (it may have failed)
        Rng rng = new Rng(3);
        Tensor a = Tensor.randn(rng, 5, 7), b = Tensor.randn(rng, 7, 3);
        float[] got = a.matmul(b).softmax(1).toFloatArray();
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        for (int i = 0; i < 5; i++) {
            double[] row = new double[3];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 7; k++) row[j] += (double) x[i * 7 + k] * y[k * 3 + j];
                max = Math.max(max, row[j]);
            }
            for (int j = 0; j < 3; j++) sum += Math.exp(row[j] - max);
            for (int j = 0; j < 3; j++) {
                assertEquals(Math.exp(row[j] - max) / sum, got[i * 3 + j], 1e-6, "softmax(a @ b)[" + i + ", " + j + "]");
            }
        }
    }

    @Test
    void aPresentDeviceDescribesItselfAndServesCuda0() {
        assumeTrue(Cuda.available(), () -> "no CUDA device: " + Cuda.unavailableReason());
        assertTrue(Cuda.backend().describe().startsWith("cuda:0 "), Cuda.backend().describe());
        assertEquals(Cuda.backend(), Backends.of(Device.cuda(0)));
    }
}
