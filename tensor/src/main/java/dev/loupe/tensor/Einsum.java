package dev.loupe.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Einstein summation, composed from differentiable ops so that its gradient needs no code of its own.
 *
 * <p>Plan, for subscripts such as {@code "bqhd,bkhd->bhqk"}: each operand first loses its repeated letters (a
 * diagonal view) and the letters no other operand and not the output use (a sum). Operands are then contracted
 * pairwise, left to right: letters shared by the pair and still needed later (by the output or a later operand) are
 * batch dims, shared letters needed nowhere else are summed by a matmul, and the rest are the free dims of either
 * side. A pair with nothing to sum is a broadcast multiply instead. The result is finally permuted to the output
 * order. Permutes are views and the batched matmul reads any strides, so a copy happens only where several letters
 * must be merged into one matmul dim of a non-contiguous view.
 */
final class Einsum {
    private Einsum() {
    }

    /** An intermediate result: a tensor and the letter naming each of its dims (letters distinct). */
    private record Term(Tensor tensor, String letters) {
    }

    /**
     * @param equation subscripts, e.g. {@code "bpd,dv->bpv"}; spaces are ignored
     * @param operands one per comma-separated subscript group, each with as many dims as its group has letters
     * @return the output, one dim per output letter (a scalar [] for an empty output)
     */
    static Tensor einsum(String equation, Tensor... operands) {
        Equation eq = Equation.parse(equation, operands);
        int n = operands.length;
        List<Term> terms = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            StringBuilder others = new StringBuilder(eq.output);
            for (int j = 0; j < n; j++) if (j != i) others.append(eq.inputs[j]);
            terms.add(sumOut(distinctLetters(operands[i], eq.inputs[i]), others.toString()));
        }
        Term acc = terms.get(0);
        for (int i = 1; i < n; i++) {
            StringBuilder later = new StringBuilder(eq.output);
            for (int j = i + 1; j < n; j++) later.append(eq.inputs[j]);
            acc = contract(acc, terms.get(i), later.toString());
        }
        acc = sumOut(acc, eq.output);
        int[] perm = new int[eq.output.length()];
        for (int i = 0; i < perm.length; i++) perm[i] = acc.letters.indexOf(eq.output.charAt(i));
        return acc.tensor.permute(perm);
    }

    /** Takes the diagonal of every letter that {@code letters} repeats, so that each letter names one dim. */
    private static Term distinctLetters(Tensor t, String letters) {
        String cur = letters;
        for (int i = 0; i < cur.length(); i++) {
            int j;
            while ((j = cur.indexOf(cur.charAt(i), i + 1)) >= 0) {
                t = diagonal(t, i, j);
                cur = cur.substring(0, j) + cur.substring(j + 1);
            }
        }
        return new Term(t, cur);
    }

    /** Sums over the letters of {@code term} that {@code keep} does not contain. */
    private static Term sumOut(Term term, String keep) {
        int[] dims = new int[term.letters.length()];
        int count = 0;
        StringBuilder kept = new StringBuilder();
        for (int i = 0; i < term.letters.length(); i++) {
            char c = term.letters.charAt(i);
            if (keep.indexOf(c) < 0) dims[count++] = i;
            else kept.append(c);
        }
        if (count == 0) return term;
        return new Term(term.tensor.sum(Arrays.copyOf(dims, count), false), kept.toString());
    }

    /**
     * The product of {@code a} and {@code b} summed over the letters they share that {@code later} does not use.
     * Result letters: batch (shared and kept), then free letters of {@code a}, then free letters of {@code b}.
     */
    private static Term contract(Term a, Term b, String later) {
        a = sumOut(a, b.letters + later);
        b = sumOut(b, a.letters + later);
        StringBuilder batch = new StringBuilder(), summed = new StringBuilder();
        StringBuilder freeA = new StringBuilder(), freeB = new StringBuilder();
        for (char c : a.letters.toCharArray()) {
            if (b.letters.indexOf(c) < 0) freeA.append(c);
            else if (later.indexOf(c) >= 0) batch.append(c);
            else summed.append(c);
        }
        for (char c : b.letters.toCharArray()) if (a.letters.indexOf(c) < 0) freeB.append(c);
        String resultLetters = "" + batch + freeA + freeB;
        int nb = batch.length(), nfa = freeA.length(), nfb = freeB.length();

        if (summed.isEmpty()) {
            // Nothing to sum: [batch, freeA, 1...] * [batch, 1..., freeB] broadcasts to [batch, freeA, freeB].
            Tensor x = permuteTo(a, "" + batch + freeA), y = permuteTo(b, "" + batch + freeB);
            for (int i = 0; i < nfb; i++) x = x.unsqueeze(-1);
            for (int i = 0; i < nfa; i++) y = y.unsqueeze(nb);
            return new Term(x.mul(y), resultLetters);
        }
        // [batch..., M, K] @ [batch..., K, N] with M, K, N each the product of a letter group's sizes.
        Tensor x = group(permuteTo(a, "" + batch + freeA + summed), nb, nfa, summed.length());
        Tensor y = group(permuteTo(b, "" + batch + summed + freeB), nb, summed.length(), nfb);
        Tensor product = x.matmul(y);
        int[] shape = new int[resultLetters.length()];
        for (int i = 0; i < shape.length; i++) {
            char c = resultLetters.charAt(i);
            int k = a.letters.indexOf(c);
            shape[i] = k >= 0 ? a.tensor.size(k) : b.tensor.size(b.letters.indexOf(c));
        }
        return new Term(product.reshape(shape), resultLetters);
    }

    /** {@code term}'s tensor with its dims in the order of {@code letters} (a permutation of its letters). */
    private static Tensor permuteTo(Term term, String letters) {
        int[] perm = new int[letters.length()];
        for (int i = 0; i < perm.length; i++) perm[i] = term.letters.indexOf(letters.charAt(i));
        return term.tensor.permute(perm);
    }

    /**
     * [batch (nb dims), g1 (n1 dims), g2 (n2 dims)] -> [batch..., prod(g1), prod(g2)]. A group of one dim stays as
     * it is and an empty group becomes a size-1 dim, both without copying; only merging several dims may copy.
     */
    private static Tensor group(Tensor t, int nb, int n1, int n2) {
        if (n1 == 1 && n2 == 1) return t;
        if (n1 == 0 && n2 == 1) return t.unsqueeze(nb);
        if (n1 == 1 && n2 == 0) return t.unsqueeze(-1);
        int[] in = t.shape();
        int[] out = Arrays.copyOf(in, nb + 2);
        out[nb] = 1;
        out[nb + 1] = 1;
        for (int i = 0; i < n1; i++) out[nb] *= in[nb + i];
        for (int i = 0; i < n2; i++) out[nb + 1] *= in[nb + n1 + i];
        return t.reshape(out);
    }

    /**
     * The diagonal of dims {@code d0 < d1}, which have equal size n: [..., n (d0), ..., n (d1), ...] -> the same
     * without d1, where index i of d0 reads element (i, i). A view; its gradient scatters into a zero tensor.
     */
    static Tensor diagonal(Tensor t, int d0, int d1) {
        int[] in = t.shape();
        Tensor out = diagonalView(t, d0, d1);
        return Autograd.record(out, "diagonal",
                g -> new Tensor[] {Views.embed(in, z -> diagonalView(z, d0, d1), g)}, t);
    }

    /** The strided view behind {@link #diagonal}: stepping along d0 steps along both dims at once. */
    private static Tensor diagonalView(Tensor t, int d0, int d1) {
        int[] strides = t.strides();
        strides[d0] += strides[d1];
        return new Tensor(t.storage(), Shapes.remove(t.shape(), d1), Shapes.remove(strides, d1), t.offset());
    }

    /** Parsed and checked subscripts: one letter string per operand and the output's (all ASCII letters). */
    private record Equation(String[] inputs, String output) {
        static Equation parse(String equation, Tensor[] operands) {
            String eq = equation.replace(" ", "");
            if (eq.contains(".")) {
                throw new IllegalArgumentException("einsum: '...' is not supported in '" + equation
                        + "'; name every dim with a letter");
            }
            int arrow = eq.indexOf("->");
            if (arrow >= 0 && eq.indexOf("->", arrow + 2) >= 0) {
                throw new IllegalArgumentException("einsum: more than one '->' in '" + equation + "'");
            }
            String lhs = arrow >= 0 ? eq.substring(0, arrow) : eq;
            String[] inputs = lhs.split(",", -1);
            if (inputs.length != operands.length) {
                throw new IllegalArgumentException("einsum: '" + equation + "' has subscripts for " + inputs.length
                        + " operand(s) but " + operands.length + " were given");
            }
            for (String s : inputs) checkLetters(s, equation);
            int[] sizes = new int[128];
            int[] firstOperand = new int[128];
            Arrays.fill(sizes, -1);
            int[] counts = new int[128];
            for (int i = 0; i < inputs.length; i++) {
                String s = inputs[i];
                int[] shape = operands[i].shape();
                if (shape.length != s.length()) {
                    throw new IllegalArgumentException("einsum: operand " + i + " has " + shape.length
                            + " dims but subscripts '" + s + "'");
                }
                for (int k = 0; k < s.length(); k++) {
                    char c = s.charAt(k);
                    counts[c]++;
                    if (sizes[c] < 0) {
                        sizes[c] = shape[k];
                        firstOperand[c] = i;
                    } else if (sizes[c] != shape[k] && firstOperand[c] == i) {
                        throw new IllegalArgumentException("einsum: letter '" + c + "' repeats in operand " + i
                                + " with sizes " + sizes[c] + " and " + shape[k] + "; a diagonal needs equal sizes");
                    } else if (sizes[c] != shape[k]) {
                        throw new IllegalArgumentException("einsum: letter '" + c + "' is " + sizes[c] + " in operand "
                                + firstOperand[c] + " but " + shape[k] + " in operand " + i);
                    }
                }
            }
            String output;
            if (arrow >= 0) {
                output = eq.substring(arrow + 2);
                checkLetters(output, equation);
                for (int k = 0; k < output.length(); k++) {
                    char c = output.charAt(k);
                    if (counts[c] == 0) {
                        throw new IllegalArgumentException("einsum: output letter '" + c + "' of '" + equation
                                + "' is in no input");
                    }
                    if (output.indexOf(c, k + 1) >= 0) {
                        throw new IllegalArgumentException("einsum: output letter '" + c + "' repeated in '"
                                + equation + "'");
                    }
                }
            } else {
                // NumPy's implicit mode: the letters used exactly once, in alphabetical (ASCII) order.
                StringBuilder sb = new StringBuilder();
                for (char c = 0; c < 128; c++) if (counts[c] == 1) sb.append(c);
                output = sb.toString();
            }
            return new Equation(inputs, output);
        }

        private static void checkLetters(String subscripts, String equation) {
            for (char c : subscripts.toCharArray()) {
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')) {
                    throw new IllegalArgumentException("einsum: '" + c + "' in '" + equation
                            + "' is not a letter; subscripts are a-z and A-Z");
                }
            }
        }
    }
}
