package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's API tour, run as written, with the claims it makes checked. */
class ReadmeTourTest {
    @Test
    void tourRunsAsWrittenAndItsGradientsHaveTheStatedShapes() {
        List<Tensor> seen = new ArrayList<>();

        Rng rng = new Rng(0);
        Tensor x = Tensor.randn(rng, 2, 5, 16);
        Tensor w = Tensor.randn(rng, 16, 4).mul(0.1f).setRequiresGrad(true);

        Tensor h = x.matmul(w).geluTanh();
        h.retainGrad();
        h.onGrad(g -> {
            seen.add(g);
            return null;
        });

        Tensor loss = h.square().mean();
        loss.backward();

        Tensor scores = Tensor.einsum("bqd,bkd->bqk", h, h);
        Tensor p;
        try (var off = Autograd.noGrad()) {
            p = scores.softmax(-1);
        }

        assertArrayEquals(new int[] {16, 4}, w.grad().shape());
        assertArrayEquals(new int[] {2, 5, 4}, h.grad().shape());
        assertEquals(1, seen.size());
        // dL/dh of mean(h²) is 2h/n: an independent check of the retained gradient.
        float[] hv = h.toFloatArray(), gh = h.grad().toFloatArray();
        for (int i = 0; i < hv.length; i++) assertEquals(2 * hv[i] / hv.length, gh[i], 1e-7);
        assertNotNull(p);
        assertFalse(p.requiresGrad());
        assertArrayEquals(new int[] {2, 5, 5}, p.shape());
        assertEquals(1.0, p.sum(-1).toFloatArray()[3], 1e-6);
    }
}
