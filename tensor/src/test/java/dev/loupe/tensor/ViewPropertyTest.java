package dev.loupe.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Seeded random property tests of views and broadcasting. A view chain is mirrored on a reference that keeps, for
 * each element of the view in row-major order, its flat index in the original array, updated by plain index
 * arithmetic; the elements read through the view must be exactly the original elements at those indices.
 */
class ViewPropertyTest {
    private static final int CASES = 200;

    /** The reference: a shape and, per row-major element, the flat index into the original data. */
    private record Ref(int[] shape, int[] source) {
        /** A new geometry whose element at new coordinates c comes from {@code old.apply(c)} here. */
        Ref map(int[] newShape, UnaryOperator<int[]> old) {
            int n = Shapes.numel(newShape);
            int[] src = new int[n];
            for (int f = 0; f < n; f++) src[f] = source[flat(shape, old.apply(Reference.coords(newShape, f)))];
            return new Ref(newShape, src);
        }

        static int flat(int[] shape, int[] c) {
            int f = 0;
            for (int d = 0; d < shape.length; d++) f = f * shape[d] + c[d];
            return f;
        }
    }

    private static int[] randomShape(Rng rng, int maxRank) {
        int[] s = new int[rng.nextInt(maxRank + 1)];
        for (int i = 0; i < s.length; i++) s[i] = 1 + rng.nextInt(5);
        return s;
    }

    /** Applies one random applicable view op to both the tensor and the reference; returns its description. */
    private static String step(Rng rng, Tensor[] t, Ref[] r) {
        Tensor x = t[0];
        Ref ref = r[0];
        int[] sh = ref.shape();
        int rank = sh.length;
        int op = rng.nextInt(rank == 0 ? 2 : 11);
        if (rank == 0) op = op == 0 ? 5 : 7; // only unsqueeze and reshape apply to a scalar
        switch (op) {
            case 0 -> { // permute
                int[] p = new int[rank];
                for (int i = 0; i < rank; i++) p[i] = i;
                for (int i = rank - 1; i > 0; i--) {
                    int j = rng.nextInt(i + 1), tmp = p[i];
                    p[i] = p[j];
                    p[j] = tmp;
                }
                int[] ns = new int[rank];
                for (int i = 0; i < rank; i++) ns[i] = sh[p[i]];
                t[0] = x.permute(p);
                r[0] = ref.map(ns, c -> {
                    int[] o = new int[rank];
                    for (int i = 0; i < rank; i++) o[p[i]] = c[i];
                    return o;
                });
                return "permute" + Arrays.toString(p);
            }
            case 1 -> { // transpose, negative dims allowed
                int a = rng.nextInt(rank), b = rng.nextInt(rank);
                int[] ns = sh.clone();
                ns[a] = sh[b];
                ns[b] = sh[a];
                t[0] = x.transpose(a - rank, b);
                r[0] = ref.map(ns, c -> {
                    int[] o = c.clone();
                    o[a] = c[b];
                    o[b] = c[a];
                    return o;
                });
                return "transpose(" + a + "," + b + ")";
            }
            case 2 -> { // narrow
                int d = rng.nextInt(rank), start = rng.nextInt(sh[d]), len = 1 + rng.nextInt(sh[d] - start);
                t[0] = x.narrow(d, start, len);
                r[0] = ref.map(Shapes.with(sh, d, len), c -> {
                    int[] o = c.clone();
                    o[d] += start;
                    return o;
                });
                return "narrow(" + d + "," + start + "," + len + ")";
            }
            case 3 -> { // slice with a step
                int d = rng.nextInt(rank), start = rng.nextInt(sh[d]), end = start + 1 + rng.nextInt(sh[d] - start);
                int stp = 1 + rng.nextInt(3), len = (end - start + stp - 1) / stp;
                t[0] = x.slice(d, start, end, stp);
                r[0] = ref.map(Shapes.with(sh, d, len), c -> {
                    int[] o = c.clone();
                    o[d] = start + c[d] * stp;
                    return o;
                });
                return "slice(" + d + "," + start + "," + end + "," + stp + ")";
            }
            case 4 -> { // select
                int d = rng.nextInt(rank), i = rng.nextInt(sh[d]);
                t[0] = x.select(d, i);
                r[0] = ref.map(Shapes.remove(sh, d), c -> Shapes.insert(c, d, i));
                return "select(" + d + "," + i + ")";
            }
            case 5 -> { // unsqueeze
                int d = rng.nextInt(rank + 1);
                t[0] = x.unsqueeze(d);
                r[0] = ref.map(Shapes.insert(sh, d, 1), c -> Shapes.remove(c, d));
                return "unsqueeze(" + d + ")";
            }
            case 6 -> { // squeeze a size-1 dim, else unsqueeze-then-squeeze round trip
                int d = -1;
                for (int i = 0; i < rank; i++) if (sh[i] == 1) d = i;
                if (d < 0) return "no-op";
                int dd = d;
                t[0] = x.squeeze(dd);
                r[0] = ref.map(Shapes.remove(sh, dd), c -> Shapes.insert(c, dd, 0));
                return "squeeze(" + dd + ")";
            }
            case 7 -> { // reshape to a random factorization of numel (row-major order is kept)
                int n = Shapes.numel(sh);
                List<Integer> dims = new ArrayList<>();
                int rest = n;
                for (int f = 2; f <= rest; f++) while (rest % f == 0) {
                    dims.add(f);
                    rest /= f;
                }
                List<Integer> ns = new ArrayList<>();
                for (int f : dims) {
                    if (!ns.isEmpty() && rng.nextInt(2) == 0) ns.set(ns.size() - 1, ns.get(ns.size() - 1) * f);
                    else ns.add(f);
                }
                if (rng.nextInt(3) == 0) ns.add(rng.nextInt(ns.size() + 1), 1);
                int[] s = ns.stream().mapToInt(Integer::intValue).toArray();
                t[0] = x.reshape(s);
                r[0] = new Ref(s, ref.source());
                return "reshape" + Arrays.toString(s);
            }
            case 8 -> { // flatten a range of dims
                int a = rng.nextInt(rank), b = a + rng.nextInt(rank - a);
                int merged = 1;
                for (int i = a; i <= b; i++) merged *= sh[i];
                int[] s = new int[rank - (b - a)];
                for (int i = 0, k = 0; i < rank; i++) {
                    if (i < a || i > b) s[k++] = sh[i];
                    else if (i == a) s[k++] = merged;
                }
                t[0] = x.flatten(a, b);
                r[0] = new Ref(s, ref.source());
                return "flatten(" + a + "," + b + ")";
            }
            case 9 -> { // expand size-1 dims and maybe add a leading one
                int[] ns = sh.clone();
                for (int i = 0; i < rank; i++) if (sh[i] == 1) ns[i] = 1 + rng.nextInt(3);
                boolean lead = rng.nextInt(2) == 0;
                int[] full = lead ? Shapes.insert(ns, 0, 2) : ns;
                t[0] = x.expand(full);
                r[0] = ref.map(full, c -> {
                    int[] o = lead ? Shapes.remove(c, 0) : c.clone();
                    for (int i = 0; i < rank; i++) if (sh[i] == 1) o[i] = 0;
                    return o;
                });
                return "expand" + Arrays.toString(full);
            }
            default -> {
                t[0] = x.contiguous();
                return "contiguous";
            }
        }
    }

    private static void assertSameElements(Tensor view, Ref ref, float[] data, String chain) {
        assertArrayEquals(ref.shape(), view.shape(), chain);
        float[] want = new float[ref.source().length];
        for (int f = 0; f < want.length; f++) {
            want[f] = data[ref.source()[f]];
            assertEquals(want[f], view.get(Reference.coords(ref.shape(), f)), chain);
        }
        assertArrayEquals(want, view.contiguous().toFloatArray(), chain + " contiguous()");
        assertArrayEquals(want, view.add(0f).toFloatArray(), chain + " through a kernel");
    }

    @Test
    void randomViewChainsReadTheElementsThatIndexArithmeticPredicts() {
        Rng rng = new Rng(20240601);
        for (int i = 0; i < CASES; i++) {
            int[] shape = randomShape(rng, 4);
            float[] data = new float[Shapes.numel(shape)];
            for (int k = 0; k < data.length; k++) data[k] = k;
            int[] identity = new int[data.length];
            for (int k = 0; k < identity.length; k++) identity[k] = k;
            Tensor[] t = {Tensor.of(data, shape)};
            Ref[] r = {new Ref(shape, identity)};
            StringBuilder chain = new StringBuilder("case " + i + " " + Arrays.toString(shape));
            for (int s = 1 + rng.nextInt(6); s > 0; s--) {
                chain.append(" .").append(step(rng, t, r));
                assertSameElements(t[0], r[0], data, chain.toString());
            }
        }
    }

    @Test
    void binaryOpsBroadcastRandomCompatibleShapesLikeTheReference() {
        Rng rng = new Rng(99);
        for (int i = 0; i < CASES; i++) {
            int[] full = randomShape(rng, 4);
            int[] as = operandShape(rng, full), bs = operandShape(rng, full);
            // Expected result shape: right-aligned, the larger of each pair (the other is 1 or absent).
            int[] out = new int[Math.max(as.length, bs.length)];
            for (int k = 1; k <= out.length; k++) {
                int da = k <= as.length ? as[as.length - k] : 1, db = k <= bs.length ? bs[bs.length - k] : 1;
                out[out.length - k] = Math.max(da, db);
            }
            Tensor a = Tensor.randn(rng, as), b = Tensor.randn(rng, bs);
            if (rng.nextInt(2) == 0 && as.length >= 2) a = a.transpose(0, 1).contiguous().transpose(0, 1);
            Tensor got = a.mul(b).sub(b);
            assertArrayEquals(out, got.shape(), Arrays.toString(as) + " * " + Arrays.toString(bs));
            for (int f = 0; f < got.numel(); f++) {
                int[] c = Reference.coords(out, f);
                float x = a.get(project(c, as)), y = b.get(project(c, bs));
                assertEquals(x * y - y, got.get(c), 1e-6f, Arrays.toString(as) + " * " + Arrays.toString(bs));
            }
        }
    }

    @Test
    void incompatibleShapesThrowNamingTheOpAndBothShapes() {
        Rng rng = new Rng(5);
        for (int i = 0; i < CASES; i++) {
            int[] out = randomShape(rng, 4);
            if (out.length == 0) continue;
            int[] as = out.clone(), bs = operandShape(rng, out);
            int d = rng.nextInt(out.length), db = d - (out.length - bs.length);
            as[d] = 2 + rng.nextInt(3);
            if (db < 0) continue;
            bs[db] = as[d] + 1; // differs and neither is 1
            Tensor a = Tensor.zeros(as), b = Tensor.zeros(bs);
            var e = assertThrows(IllegalArgumentException.class, () -> a.sub(b));
            String m = e.getMessage();
            assertTrue(m.contains("sub") && m.contains(Shapes.format(as)) && m.contains(Shapes.format(bs)), m);
        }
    }

    /** A shape that broadcasts to {@code out}: a random suffix of it with some dims set to 1. */
    private static int[] operandShape(Rng rng, int[] out) {
        int rank = rng.nextInt(out.length + 1);
        int[] s = Arrays.copyOfRange(out, out.length - rank, out.length);
        for (int i = 0; i < rank; i++) if (rng.nextInt(3) == 0) s[i] = 1;
        return s;
    }

    /** Coordinates in the broadcast output mapped to an operand of shape {@code s}. */
    private static int[] project(int[] c, int[] s) {
        int[] o = new int[s.length];
        for (int i = 0; i < s.length; i++) o[i] = s[i] == 1 ? 0 : c[c.length - s.length + i];
        return o;
    }

    @Test
    void viewGradientsMatchFiniteDifferences() {
        Tensor x = Tensor.randn(new Rng(11), 3, 4, 5);
        GradCheck.check(t -> t[0].narrow(1, 1, 2), x);
        GradCheck.check(t -> t[0].slice(2, 0, 5, 2), x);
        GradCheck.check(t -> t[0].slice(0, -2, 3, 1).select(2, 3), x);
        GradCheck.check(t -> t[0].select(1, -1), x);
        GradCheck.check(t -> t[0].permute(2, 0, 1).mul(t[0].permute(2, 0, 1)), x);
        GradCheck.check(t -> t[0].narrow(1, 0, 1).expand(2, 3, 4, 5), x);
        GradCheck.check(t -> t[0].transpose(0, 2).reshape(20, 3).unsqueeze(0).squeeze(0), x);
        GradCheck.check(t -> t[0].flatten(0, 1).contiguous(), x);
    }
}
