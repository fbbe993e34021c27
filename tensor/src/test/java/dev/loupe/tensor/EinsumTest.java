package dev.loupe.tensor;

import static dev.loupe.tensor.Reference.assertClose;
import static dev.loupe.tensor.Reference.build;
import static dev.loupe.tensor.Reference.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link Tensor#einsum} held against explicit loops written out for each equation, and its gradient against finite
 * differences. Sizes are small; most tests give each letter its own size so that a swapped dim
 * shows up as a shape error.
 */
class EinsumTest {
    private final Rng rng = new Rng(42);

    private Tensor randn(int... shape) {
        return Tensor.randn(rng, shape);
    }

    // ---------------------------------------------------------------- values against loops

    @Test
    void unembedContractsTheLastDimAgainstAMatrix() {
        Tensor resid = randn(2, 3, 4), wU = randn(4, 5); // [batch, pos, d_model], [d_model, vocab]
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = 0;
            for (int d = 0; d < 4; d++) s += resid.get(ix[0], ix[1], d) * wU.get(d, ix[2]);
            return s;
        });
        assertClose(expected, Tensor.einsum("bpd,dv->bpv", resid, wU));
    }

    @Test
    void attentionScoresContractHeadDimPerBatchAndHead() {
        int B = 2, Q = 3, K = 4, H = 2, D = 5;
        Tensor q = randn(B, Q, H, D), k = randn(B, K, H, D);
        Tensor expected = build(shape(B, H, Q, K), ix -> { // ix = [b, h, q, k]
            double s = 0;
            for (int d = 0; d < D; d++) s += q.get(ix[0], ix[2], ix[1], d) * k.get(ix[0], ix[3], ix[1], d);
            return s;
        });
        assertClose(expected, Tensor.einsum("bqhd,bkhd->bhqk", q, k));
    }

    @Test
    void attentionMixesValuesByPattern() {
        int B = 2, Q = 3, K = 4, H = 2, D = 5;
        Tensor pattern = randn(B, H, Q, K), v = randn(B, K, H, D);
        Tensor expected = build(shape(B, Q, H, D), ix -> { // ix = [b, q, h, d]
            double s = 0;
            for (int j = 0; j < K; j++) s += pattern.get(ix[0], ix[2], ix[1], j) * v.get(ix[0], j, ix[2], ix[3]);
            return s;
        });
        assertClose(expected, Tensor.einsum("bhqk,bkhd->bqhd", pattern, v));
    }

    @Test
    void transposeSwapsDims() {
        Tensor a = randn(3, 4);
        assertClose(build(shape(4, 3), ix -> a.get(ix[1], ix[0])), Tensor.einsum("ij->ji", a));
    }

    @Test
    void repeatedLetterTakesTheDiagonal() {
        Tensor a = randn(4, 4);
        assertClose(build(shape(4), ix -> a.get(ix[0], ix[0])), Tensor.einsum("ii->i", a));
    }

    @Test
    void repeatedLetterWithEmptyOutputIsTheTrace() {
        Tensor a = randn(4, 4);
        double trace = 0;
        for (int i = 0; i < 4; i++) trace += a.get(i, i);
        Tensor t = Tensor.einsum("ii->", a);
        assertArrayEquals(new int[0], t.shape());
        assertEquals(trace, t.item(), 1e-5);
    }

    @Test
    void diagonalOfAThreeWayRepeatAndOfANonContiguousView() {
        Tensor a = randn(3, 3, 3);
        assertClose(build(shape(3), ix -> a.get(ix[0], ix[0], ix[0])), Tensor.einsum("iii->i", a));
        Tensor b = randn(2, 3, 3).permute(1, 0, 2); // [i, j, i] as a strided view
        assertClose(build(shape(2, 3), ix -> b.get(ix[1], ix[0], ix[1])), Tensor.einsum("iji->ji", b));
    }

    @Test
    void dotProductIsAScalar() {
        Tensor x = randn(5), y = randn(5);
        double s = 0;
        for (int i = 0; i < 5; i++) s += x.get(i) * y.get(i);
        Tensor d = Tensor.einsum("i,i->", x, y);
        assertArrayEquals(new int[0], d.shape());
        assertEquals(s, d.item(), 1e-5);
    }

    @Test
    void outerProductPairsEveryElement() {
        Tensor x = randn(3), y = randn(4);
        assertClose(build(shape(3, 4), ix -> x.get(ix[0]) * y.get(ix[1])), Tensor.einsum("i,j->ij", x, y));
    }

    @Test
    void batchedMatmulKeepsTheBatchLetter() {
        Tensor a = randn(2, 3, 4), b = randn(2, 4, 5);
        Tensor expected = build(shape(2, 3, 5), ix -> {
            double s = 0;
            for (int j = 0; j < 4; j++) s += a.get(ix[0], ix[1], j) * b.get(ix[0], j, ix[2]);
            return s;
        });
        assertClose(expected, Tensor.einsum("bij,bjk->bik", a, b));
    }

    @Test
    void implicitOutputIsTheLettersUsedOnceInAlphabeticalOrder() {
        Tensor a = randn(3, 4), b = randn(4, 5);
        assertClose(Tensor.einsum("ij,jk->ik", a, b), Tensor.einsum("ij,jk", a, b));
        // "ba" alone names the output "ab": the transpose, as in NumPy.
        assertClose(Tensor.einsum("ij->ji", a), Tensor.einsum("ba", a));
        Tensor sq = randn(4, 4);
        assertClose(Tensor.einsum("ii->", sq), Tensor.einsum("ii", sq));
        // ASCII order puts upper case first: "Ab" is the output of "bA".
        assertArrayEquals(new int[] {4, 3}, Tensor.einsum("bA", a).shape());
    }

    @Test
    void spacesAreIgnored() {
        Tensor a = randn(2, 3, 4), w = randn(4, 5);
        assertClose(Tensor.einsum("bpd,dv->bpv", a, w), Tensor.einsum(" bpd , dv -> bpv ", a, w));
    }

    @Test
    void upperAndLowerCaseAreDifferentLetters() {
        Tensor a = randn(2, 3), b = randn(3, 4);
        Tensor expected = build(shape(2, 4), ix -> {
            double s = 0;
            for (int j = 0; j < 3; j++) s += a.get(ix[0], j) * b.get(j, ix[1]);
            return s;
        });
        assertClose(expected, Tensor.einsum("aA,AB->aB", a, b));
    }

    @Test
    void threeOperandsChainThroughTwoContractions() {
        Tensor a = randn(2, 3), b = randn(3, 4), c = randn(4, 5);
        Tensor expected = build(shape(2, 5), ix -> {
            double s = 0;
            for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) s += a.get(ix[0], j) * b.get(j, k) * c.get(k, ix[1]);
            return s;
        });
        assertClose(expected, Tensor.einsum("ij,jk,kl->il", a, b, c));
    }

    @Test
    void letterSharedByThreeOperandsIsSummedOnlyAtTheEnd() {
        Tensor x = randn(4), y = randn(4), z = randn(4);
        double s = 0;
        for (int i = 0; i < 4; i++) s += x.get(i) * y.get(i) * z.get(i);
        assertEquals(s, Tensor.einsum("i,i,i->", x, y, z).item(), 1e-5);
    }

    @Test
    void lettersOnlyOneOperandUsesAreSummedOut() {
        Tensor a = randn(2, 3), b = randn(4);
        Tensor expected = build(shape(2), ix -> {
            double s = 0;
            for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) s += a.get(ix[0], j) * b.get(k);
            return s;
        });
        assertClose(expected, Tensor.einsum("ij,k->i", a, b));
    }

    @Test
    void elementwiseAndBatchedOuterProductsNeedNoSum() {
        Tensor a = randn(2, 3), b = randn(2, 3), c = randn(2, 4);
        assertClose(build(shape(2, 3), ix -> a.get(ix[0], ix[1]) * b.get(ix[0], ix[1])),
                Tensor.einsum("bi,bi->bi", a, b));
        assertClose(build(shape(2, 3, 4), ix -> a.get(ix[0], ix[1]) * c.get(ix[0], ix[2])),
                Tensor.einsum("bi,bj->bij", a, c));
    }

    @Test
    void scalarOperandScales() {
        Tensor a = randn(2, 3);
        assertClose(build(shape(2, 3), ix -> 2.5 * a.get(ix)), Tensor.einsum("ij,->ij", a, Tensor.scalar(2.5f)));
    }

    @Test
    void transposedViewOperandsAreReadThroughTheirStrides() {
        Tensor aT = randn(4, 3).transpose(0, 1), b = randn(4, 5); // aT is [3, 4], not contiguous
        Tensor expected = build(shape(3, 5), ix -> {
            double s = 0;
            for (int j = 0; j < 4; j++) s += aT.get(ix[0], j) * b.get(j, ix[1]);
            return s;
        });
        assertClose(expected, Tensor.einsum("ij,jk->ik", aT, b));
    }

    @Test
    void resultIsANewTensorEvenForTheIdentityEquation() {
        Tensor a = randn(2, 3).setRequiresGrad(true);
        Tensor r = Tensor.einsum("ij->ij", a);
        assertClose(a, r);
        assertNotSame(a, r, "hooks registered on the result must not land on the operand");
    }

    @Test
    void attentionAndUnembedEquationsCopyNothing() {
        // Permuted views go straight into the strided batched matmul; only merging several dims of a
        // non-contiguous view into one matmul dim would need a copy (the op "contiguous").
        Tensor q = randn(2, 3, 2, 4).setRequiresGrad(true), k = randn(2, 5, 2, 4).setRequiresGrad(true);
        Tensor pattern = randn(2, 2, 3, 5).setRequiresGrad(true), v = randn(2, 5, 2, 4).setRequiresGrad(true);
        Tensor resid = randn(2, 3, 4).setRequiresGrad(true), wU = randn(4, 6).setRequiresGrad(true);
        assertFalse(opsOf(Tensor.einsum("bqhd,bkhd->bhqk", q, k)).contains("contiguous"));
        assertFalse(opsOf(Tensor.einsum("bhqk,bkhd->bqhd", pattern, v)).contains("contiguous"));
        assertFalse(opsOf(Tensor.einsum("bpd,dv->bpv", resid, wU)).contains("contiguous"));
    }

    /** Names of the recorded ops that made {@code t}. */
    private static Set<String> opsOf(Tensor t) {
        Set<String> ops = new HashSet<>();
        ArrayDeque<Tensor> todo = new ArrayDeque<>(List.of(t));
        while (!todo.isEmpty()) {
            GradNode node = todo.pop().gradNode();
            if (node == null) continue;
            ops.add(node.op);
            for (Tensor in : node.inputs) if (in != null) todo.push(in);
        }
        return ops;
    }

    // ---------------------------------------------------------------- gradients

    @Test
    void gradientOfUnembedAndBatchedMatmul() {
        GradCheck.check(x -> Tensor.einsum("bpd,dv->bpv", x[0], x[1]), randn(2, 3, 4), randn(4, 5));
        GradCheck.check(x -> Tensor.einsum("bij,bjk->bik", x[0], x[1]), randn(2, 3, 4), randn(2, 4, 2));
    }

    @Test
    void gradientOfAttentionScoresAndValueMixing() {
        GradCheck.check(x -> Tensor.einsum("bqhd,bkhd->bhqk", x[0], x[1]), randn(2, 3, 2, 4), randn(2, 3, 2, 4));
        GradCheck.check(x -> Tensor.einsum("bhqk,bkhd->bqhd", x[0], x[1]), randn(2, 2, 3, 3), randn(2, 3, 2, 4));
    }

    @Test
    void gradientOfDiagonalAndTrace() {
        GradCheck.check(x -> Tensor.einsum("ii->i", x[0]), randn(4, 4));
        GradCheck.check(x -> Tensor.einsum("ii->", x[0]), randn(4, 4));
        GradCheck.check(x -> Tensor.einsum("iji->j", x[0]), randn(3, 2, 3));
        GradCheck.check(x -> Tensor.einsum("ii,i->i", x[0], x[1]), randn(3, 3), randn(3));
    }

    @Test
    void gradientOfOuterDotTransposeAndChains() {
        GradCheck.check(x -> Tensor.einsum("i,j->ij", x[0], x[1]), randn(3), randn(4));
        GradCheck.check(x -> Tensor.einsum("i,i->", x[0], x[1]), randn(5), randn(5));
        GradCheck.check(x -> Tensor.einsum("ij->ji", x[0]), randn(2, 3));
        GradCheck.check(x -> Tensor.einsum("ij,jk,kl->il", x[0], x[1], x[2]), randn(2, 3), randn(3, 4), randn(4, 2));
        GradCheck.check(x -> Tensor.einsum("bi,bj->bij", x[0], x[1]), randn(2, 3), randn(2, 4));
        GradCheck.check(x -> Tensor.einsum("ij,k->i", x[0], x[1]), randn(2, 3), randn(4));
    }

    @Test
    void operandUsedTwiceGetsBothContributions() {
        // d/dA Σ_ij A_ij A_ij = 2 A
        Tensor a = randn(3, 4).setRequiresGrad(true);
        Tensor.einsum("ij,ij->", a, a).backward();
        assertClose(a.mul(2f), a.grad());
    }

    // ---------------------------------------------------------------- errors

    private static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void wrongOperandCountIsRejected() {
        Tensor a = Tensor.zeros(2, 3);
        assertEquals("einsum: 'ij,jk->ik' has subscripts for 2 operand(s) but 1 were given",
                error(() -> Tensor.einsum("ij,jk->ik", a)));
    }

    @Test
    void rankMismatchNamesTheOperand() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(3, 4, 5);
        assertEquals("einsum: operand 1 has 3 dims but subscripts 'ij'", error(() -> Tensor.einsum("ij,ij->i", a, b)));
    }

    @Test
    void inconsistentLetterSizeNamesBothOperands() {
        Tensor a = Tensor.zeros(2, 64), b = Tensor.zeros(32, 5);
        assertEquals("einsum: letter 'd' is 64 in operand 0 but 32 in operand 1",
                error(() -> Tensor.einsum("bd,dv->bv", a, b)));
        assertEquals("einsum: letter 'i' repeats in operand 0 with sizes 2 and 3; a diagonal needs equal sizes",
                error(() -> Tensor.einsum("ii->i", Tensor.zeros(2, 3))));
    }

    @Test
    void outputLettersMustComeFromTheInputsAndBeDistinct() {
        Tensor a = Tensor.zeros(2, 3);
        assertEquals("einsum: output letter 'k' of 'ij->ik' is in no input", error(() -> Tensor.einsum("ij->ik", a)));
        assertEquals("einsum: output letter 'i' repeated in 'ij->ii'", error(() -> Tensor.einsum("ij->ii", a)));
    }

    @Test
    void ellipsisAndNonLettersAreRejected() {
        Tensor a = Tensor.zeros(2, 3);
        assertEquals("einsum: '...' is not supported in '...j->...j'; name every dim with a letter",
                error(() -> Tensor.einsum("...j->...j", a)));
        assertEquals("einsum: '1' in 'i1->i' is not a letter; subscripts are a-z and A-Z",
                error(() -> Tensor.einsum("i1->i", a)));
        assertEquals("einsum: more than one '->' in 'ij->ij->ij'", error(() -> Tensor.einsum("ij->ij->ij", a)));
    }
}
