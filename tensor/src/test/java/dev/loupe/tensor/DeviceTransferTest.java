package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.fake.FakeDeviceBackend;
import dev.loupe.tensor.fake.FakeStorage;
import org.junit.jupiter.api.Test;

/** {@link Tensor#to}, the device-taking factories, and the one-device rule, on the fake device. */
class DeviceTransferTest {
    private static final Device FAKE = FakeDeviceBackend.install().device();

    @Test
    void toCopiesAStridedViewContiguouslyAndBack() {
        Tensor x = Tensor.arange(6).view(2, 3).transpose(0, 1); // [3, 2], strided
        Tensor d = x.to(FAKE);
        assertEquals(FAKE, d.device());
        assertTrue(d.storage() instanceof FakeStorage);
        assertTrue(d.isContiguous());
        assertArrayEquals(new int[] {3, 2}, d.shape());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, d.toFloatArray());
        Tensor back = d.to(Device.CPU);
        assertEquals(Device.CPU, back.device());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, back.toFloatArray());
        assertSame(d, d.to(FAKE), "a tensor already there is returned as is");
    }

    @Test
    void theGradientOfToGoesBackToTheSourceDevice() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).setRequiresGrad(true);
        Tensor y = x.to(FAKE).square().mul(3f).sum(); // d/dx = 6x
        assertEquals(FAKE, y.device());
        y.backward();
        assertEquals(Device.CPU, x.grad().device());
        assertArrayEquals(new float[] {6, 12, 18}, x.grad().toFloatArray());
        assertEquals("to", x.to(FAKE).gradOp());
    }

    @Test
    void factoriesTakeADevice() {
        assertArrayEquals(new float[] {0, 0, 0, 0}, Tensor.zeros(FAKE, 2, 2).toFloatArray());
        assertArrayEquals(new float[] {1, 1}, Tensor.ones(FAKE, 2).toFloatArray());
        Tensor full = Tensor.full(2.5f, FAKE, 3);
        assertEquals(FAKE, full.device());
        assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f}, full.toFloatArray());
        Tensor s = Tensor.scalar(-4f, FAKE);
        assertEquals(FAKE, s.device());
        assertEquals(0, s.rank());
        assertEquals(-4f, s.item());
        assertEquals(Device.CPU, Tensor.scalar(1f, Device.CPU).device());
    }

    @Test
    void opsOnTwoDevicesFailNamingBoth() {
        Tensor d = Tensor.ones(2, 2).to(FAKE), h = Tensor.ones(2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.matmul(h));
        assertEquals("expected tensors on one device but got cuda:7 and cpu in matmul (move one with "
                + "Tensor.to(device))", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> h.add(d));
        assertTrue(e.getMessage().startsWith("expected tensors on one device but got cpu and cuda:7 in add"),
                e.getMessage());
        // One rule, scalars included: a 0-dim host tensor is not accepted beside a device tensor.
        e = assertThrows(IllegalArgumentException.class, () -> d.mul(Tensor.scalar(2f)));
        assertTrue(e.getMessage().contains("cuda:7 and cpu in mul"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.where(h.gt(0f), d, d));
        assertThrows(IllegalArgumentException.class, () -> Tensor.cat(0, d, h));
        assertThrows(IllegalArgumentException.class, () -> d.layerNorm(Tensor.ones(2), null, 1e-5f));
        assertThrows(IllegalArgumentException.class, () -> d.indexSelect(0, Tensor.indices(1)));
        assertThrows(IllegalArgumentException.class, () -> d.crossEntropy(Tensor.indices(0, 1)));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(FAKE, 2).copyFrom(Tensor.ones(2)));
    }

    @Test
    void backwardRefusesAGradientOnAnotherDevice() {
        Tensor x = Tensor.ones(FAKE, 3).setRequiresGrad(true);
        Tensor y = x.mul(2f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> y.backward(Tensor.ones(3)));
        assertEquals("backward: gradient on cpu for an output on cuda:7", e.getMessage());
        Tensor z = x.mul(2f).onGrad(g -> Tensor.ones(3)); // a hook that hands back a host tensor
        IllegalStateException h = assertThrows(IllegalStateException.class, () -> z.sum().backward());
        assertTrue(h.getMessage().contains("gradient on cpu for a tensor on cuda:7"), h.getMessage());
    }
}
