package dev.loupe.tensor;

import static dev.loupe.tensor.Reference.assertClose;
import static dev.loupe.tensor.Reference.build;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The reverse-mode engine ({@link Autograd}, {@link Tensor#backward}): how gradients meet at shared tensors, where
 * they are stored, how hooks see and replace them, when the graph is freed, and what is refused. Expected gradients
 * are worked out by hand in each test.
 */
class AutogradTest {
    private final Rng rng = new Rng(5);

    private Tensor leaf(int... shape) {
        return Tensor.randn(rng, shape).setRequiresGrad(true);
    }

    /** Every test must leave recording on for the next one, even when it fails inside a no-grad scope. */
    @AfterEach
    void recordingIsOnAgain() {
        assertTrue(Autograd.isEnabled(), "a no-grad scope leaked out of the test");
    }

    // ---------------------------------------------------------------- shared subexpressions

    @Test
    void tensorUsedTwiceReceivesTheSumOfBothPaths() {
        // y = x² + x, so dy/dx = 2x + 1.
        Tensor x = leaf(5);
        x.mul(x).add(x).sum().backward();
        assertClose(build(x.shape(), ix -> 2 * x.get(ix) + 1), x.grad());
    }

    @Test
    void diamondGraphRunsTheSharedNodeOnceWithTheSummedGradient() {
        // a = 2x feeds both tanh(a) and 3a; out = Σ tanh(a) · 3a.
        // d out / da = 3 tanh(a) + 3a (1 - tanh²(a)), and dx = 2 · that.
        Tensor x = leaf(4);
        Tensor a = x.mul(2f);
        List<Tensor> seen = new ArrayList<>();
        a.onGrad(g -> {
            seen.add(g);
            return null;
        });
        a.tanh().mul(a.mul(3f)).sum().backward();
        Tensor expectedA = build(x.shape(), ix -> {
            double av = 2 * x.get(ix), t = Math.tanh(av);
            return 3 * t + 3 * av * (1 - t * t);
        });
        assertEquals(1, seen.size(), "the hook of a tensor used twice runs once, after both uses are summed");
        assertClose(expectedA, seen.get(0));
        assertClose(expectedA.mul(2f), x.grad());
        GradCheck.check(v -> {
            Tensor av = v[0].mul(2f);
            return av.tanh().mul(av.mul(3f));
        }, Tensor.randn(rng, 4));
    }

    // ---------------------------------------------------------------- where gradients are stored

    @Test
    void onlyLeavesAndRetainedIntermediatesKeepTheirGradient() {
        Tensor x = leaf(3);
        Tensor h = x.mul(3f).retainGrad(); // dL/dh = 2h for L = Σ h²
        Tensor other = x.mul(5f);
        h.square().add(other).sum().backward();
        assertClose(h.detach().mul(2f), h.grad());
        assertNull(other.grad(), "an intermediate without retainGrad keeps nothing");
        assertClose(build(x.shape(), ix -> 2 * (3 * x.get(ix)) * 3 + 5), x.grad());
    }

    @Test
    void leafGradientsAreTheirOwnContiguousTensors() {
        // d(a + b)/da and /db are the same incoming gradient; each leaf must still get its own copy, so that an
        // optimizer writing into one gradient cannot change another, or the caller's tensor.
        Tensor a = leaf(2, 3), b = leaf(2, 3);
        Tensor gradient = Tensor.ones(2, 3);
        a.add(b).backward(gradient);
        assertNotSame(a.grad(), b.grad());
        assertNotSame(gradient, a.grad());
        a.grad().fill(7f);
        assertClose(Tensor.ones(2, 3), b.grad());
        assertClose(Tensor.ones(2, 3), gradient);

        // The gradient of a sum is a broadcast (stride-0) view of one number; the stored gradient is not.
        Tensor c = leaf(4);
        c.sum().backward();
        assertTrue(c.grad().isContiguous());
        c.grad().fill(2f);
        assertClose(Tensor.full(2f, 4), c.grad());
    }

    @Test
    void twoBackwardPassesAccumulateIntoLeavesUntilZeroGrad() {
        Tensor x = leaf(3);
        x.mul(2f).sum().backward();
        x.mul(5f).sum().backward();
        assertClose(Tensor.full(7f, 3), x.grad());
        x.zeroGrad();
        assertNull(x.grad());
        x.mul(4f).sum().backward();
        assertClose(Tensor.full(4f, 3), x.grad());
    }

    // ---------------------------------------------------------------- hooks

    @Test
    void hookObservesTheGradientWithoutChangingIt() {
        Tensor x = leaf(3);
        Tensor h = x.mul(2f);
        Tensor[] seen = new Tensor[1];
        h.onGrad(g -> {
            seen[0] = g;
            return null;
        });
        h.mul(3f).sum().backward();
        assertClose(Tensor.full(3f, 3), seen[0]);
        assertClose(Tensor.full(6f, 3), x.grad());
    }

    @Test
    void hookReplacementFlowsUpstream() {
        Tensor x = leaf(3);
        Tensor h = x.mul(2f).onGrad(g -> Tensor.zeros(3)); // ablate the gradient through h
        h.add(x).sum().backward();
        assertClose(Tensor.ones(3), x.grad(), "only the direct path x -> sum is left");
    }

    @Test
    void hookOnALeafReplacesWhatIsAccumulated() {
        Tensor x = leaf(3).onGrad(g -> g.mul(10f));
        x.mul(2f).sum().backward();
        assertClose(Tensor.full(20f, 3), x.grad());
    }

    @Test
    void severalHooksRunInRegistrationOrderEachSeeingThePreviousResult() {
        Tensor x = leaf(2);
        List<String> calls = new ArrayList<>();
        Tensor h = x.mul(1f)
                .onGrad(g -> {
                    calls.add("double");
                    return g.mul(2f);
                })
                .onGrad(g -> {
                    calls.add("observe " + g.get(0));
                    return null;
                })
                .onGrad(g -> {
                    calls.add("plus one");
                    return g.add(1f);
                });
        h.sum().backward();
        assertEquals(List.of("double", "observe 2.0", "plus one"), calls);
        assertClose(Tensor.full(3f, 2), x.grad());
    }

    @Test
    void hookReturningAWrongShapeIsAnError() {
        Tensor x = leaf(3);
        Tensor h = x.mul(2f).onGrad(g -> Tensor.zeros(4));
        var e = assertThrows(IllegalStateException.class, () -> h.sum().backward());
        assertEquals("gradient hook: gradient of shape [4] for a tensor of shape [3]", e.getMessage());
    }

    // ---------------------------------------------------------------- recording on and off

    @Test
    void nothingIsRecordedInsideNoGradAndNestedScopesRestoreInOrder() {
        Tensor x = leaf(3);
        Autograd.Scope outer = Autograd.noGrad();
        try {
            Autograd.Scope inner = Autograd.noGrad();
            try {
                Tensor y = x.mul(2f);
                assertFalse(y.requiresGrad());
                assertTrue(y.isLeaf());
            } finally {
                inner.close();
            }
            assertFalse(Autograd.isEnabled(), "closing the inner scope keeps the outer one in force");
            inner.close(); // a second close is harmless
            assertFalse(Autograd.isEnabled());
        } finally {
            outer.close();
        }
        assertTrue(Autograd.isEnabled());
        assertTrue(x.mul(2f).requiresGrad());
    }

    @Test
    void exceptionInsideNoGradStillRestoresRecording() {
        assertThrows(IllegalArgumentException.class, () -> {
            try (Autograd.Scope ignored = Autograd.noGrad()) {
                Tensor.zeros(2, 3).matmul(Tensor.zeros(4, 5));
            }
        });
        assertTrue(Autograd.isEnabled());
    }

    @Test
    void detachCutsTheGraphButSharesTheData() {
        // y = x · detach(x): only the first factor is differentiated, so dy/dx = x (not 2x).
        Tensor x = leaf(3);
        Tensor d = x.detach();
        assertFalse(d.requiresGrad());
        assertTrue(d.isLeaf());
        assertSame(x.storage(), d.storage());
        x.mul(d).sum().backward();
        assertClose(x.detach(), x.grad());
    }

    @Test
    void setRequiresGradOnANonLeafIsRefusedNamingTheOp() {
        Tensor y = leaf(2).mul(2f);
        var e = assertThrows(IllegalStateException.class, () -> y.setRequiresGrad(false));
        assertTrue(e.getMessage().contains("'mul_scalar'"), e.getMessage());
    }

    @Test
    void inPlaceWritesAreRefusedOnGraphTensorsAndAllowedOnLeavesUnderNoGrad() {
        Tensor x = leaf(3);
        Tensor y = x.mul(2f);
        assertThrows(IllegalStateException.class, () -> y.fill(0f));
        assertThrows(IllegalStateException.class, () -> y.copyFrom(Tensor.zeros(3)));
        assertThrows(IllegalStateException.class, () -> x.fill(0f), "a parameter while recording");
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            x.copyFrom(Tensor.full(4f, 3)); // an optimizer step
        }
        assertClose(Tensor.full(4f, 3), x.detach());
        assertClose(Tensor.ones(3), Tensor.zeros(3).fill(1f), "a constant is writable");
    }

    // ---------------------------------------------------------------- graph lifetime

    @Test
    void secondBackwardThroughAFreedGraphThrowsNamingTheOp() {
        Tensor x = leaf(3);
        Tensor loss = x.mul(x).sum();
        loss.backward();
        var e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("'sum'") && e.getMessage().contains("retainGraph"), e.getMessage());
    }

    @Test
    void retainGraphAllowsASecondBackwardThatDoublesTheLeafGradient() {
        Tensor x = leaf(3);
        Tensor loss = x.mul(x).sum(); // d/dx = 2x
        loss.backward(null, true);
        loss.backward(null, false);
        assertClose(x.detach().mul(4f), x.grad());
        assertThrows(IllegalStateException.class, loss::backward, "the second pass freed the graph");
    }

    @Test
    void gradThroughAFreedGraphThrowsInsteadOfReturningZeros() {
        Tensor x = leaf(3);
        Tensor loss = x.mul(2f).sum();
        loss.backward();
        assertThrows(IllegalStateException.class, () -> Autograd.grad(loss, null, List.of(x), false));
    }

    @Test
    void gradStopsAtAWantedIntermediateEvenIfTheGraphBehindItIsFreed() {
        Tensor x = leaf(3);
        Tensor h = x.mul(2f);
        h.sum().backward(); // frees h's own node
        Tensor loss = h.mul(3f).sum(); // a new graph on top of h
        assertClose(Tensor.full(3f, 3), Autograd.grad(loss, null, List.of(h), false).get(0));
    }

    @Test
    void deepChainDoesNotOverflowTheStack() {
        // 20,000 ops of ×1.0001: d/dx = 1.0001^20000 per element.
        Tensor x = leaf(2);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.mul(1.0001f);
        Tensor loss = y.sum();
        double expected = Math.pow(1.0001f, 20_000);
        Tensor viaGrad = Autograd.grad(loss, null, List.of(x), true).get(0);
        assertEquals(expected, viaGrad.get(0), expected * 1e-3);
        loss.backward();
        assertEquals(expected, x.grad().get(1), expected * 1e-3);
    }

    // ---------------------------------------------------------------- output gradients

    @Test
    void nonScalarOutputNeedsAGradient() {
        Tensor y = leaf(2, 3).mul(2f);
        var e = assertThrows(IllegalArgumentException.class, y::backward);
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> y.backward(Tensor.ones(3, 2)), "wrong shape");
    }

    @Test
    void explicitGradientIsTheVectorOfTheVectorJacobianProduct() {
        Tensor x = leaf(3);
        Tensor g = Tensor.of(new float[] {1, -2, 0.5f}, 3);
        x.square().backward(g); // d(x²)/dx · g = 2x · g
        assertClose(build(x.shape(), ix -> 2 * x.get(ix) * g.get(ix)), x.grad());
    }

    @Test
    void backwardFromATensorThatNeedsNoGradientIsRefused() {
        Tensor c = Tensor.ones(3).sum();
        assertThrows(IllegalStateException.class, c::backward);
    }

    // ---------------------------------------------------------------- functional Autograd.grad

    @Test
    void gradReturnsLeafAndIntermediateGradientsWithoutTouchingGrad() {
        Tensor x = leaf(3);
        Tensor h = x.mul(3f).retainGrad();
        Tensor loss = h.square().sum(); // dL/dh = 2h, dL/dx = 18x
        List<Tensor> grads = Autograd.grad(loss, null, List.of(x, h), false);
        assertClose(x.detach().mul(18f), grads.get(0));
        assertClose(h.detach().mul(2f), grads.get(1));
        assertNull(x.grad());
        assertNull(h.grad(), "even a retained intermediate is left alone");
    }

    @Test
    void gradWithAnExplicitOutputGradient() {
        Tensor x = leaf(2, 2);
        Tensor y = x.mul(3f);
        Tensor g = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        assertClose(g.mul(3f), Autograd.grad(y, g, List.of(x), false).get(0));
    }

    @Test
    void gradGivesZerosOfTheRightShapeForUnrelatedInputs() {
        Tensor x = leaf(3), unrelated = leaf(2, 4), constant = Tensor.ones(5);
        Tensor loss = x.sum();
        List<Tensor> grads = Autograd.grad(loss, null, List.of(x, unrelated, constant), false);
        assertClose(Tensor.ones(3), grads.get(0));
        assertClose(Tensor.zeros(2, 4), grads.get(1));
        assertClose(Tensor.zeros(5), grads.get(2));
    }

    @Test
    void gradPrunesBranchesThatDoNotLeadToTheWantedInputs() {
        // loss = Σ (x·2 + w·3): asking only for x must not run the w branch, whose hook would otherwise fire.
        Tensor x = leaf(3), w = leaf(3);
        int[] wBranchCalls = {0}, xBranchCalls = {0};
        Tensor wPart = w.mul(3f).onGrad(g -> {
            wBranchCalls[0]++;
            return null;
        });
        Tensor xPart = x.mul(2f).onGrad(g -> {
            xBranchCalls[0]++;
            return null;
        });
        Tensor loss = xPart.add(wPart).sum();
        assertClose(Tensor.full(2f, 3), Autograd.grad(loss, null, List.of(x), true).get(0));
        assertEquals(1, xBranchCalls[0], "hooks on the way to a wanted input run");
        assertEquals(0, wBranchCalls[0], "hooks off the way do not");
        loss.backward(); // the pruned pass kept the graph (retainGraph) for this one
        assertClose(Tensor.full(3f, 3), w.grad());
    }

    @Test
    void gradFreesTheGraphUnlessAskedToKeepIt() {
        Tensor x = leaf(3);
        Tensor loss = x.mul(x).sum();
        Autograd.grad(loss, null, List.of(x), false);
        assertThrows(IllegalStateException.class, loss::backward);
    }
}
