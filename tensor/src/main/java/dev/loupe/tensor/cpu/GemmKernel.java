package dev.loupe.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The packed (Goto/BLIS) SGEMM path for one thread's rectangle of C. Loop nest, outer to inner:
 * <pre>
 *   jc over N by NC      B block  [KC, NC] packed into NR-wide slivers   (lives in L2/L3)
 *     pc over K by KC
 *       ic over M by MC  A block  [MC, KC] packed into MR-tall slivers   (lives in L2)
 *         jr over NC by NR   one B sliver [KC, NR]                       (stays in L1 across ir)
 *           ir over MC by MR micro-kernel: C[MR, NR] += A sliver @ B sliver, accumulators in registers
 * </pre>
 * Slivers are zero-padded to full MR/NR so the micro-kernel never branches on edges; a partial tile of C is run
 * through a scratch tile. Packing reads A and B through arbitrary (row, column) strides, which is
 * how transposed operands are handled without copies.
 *
 * <p>Scratch buffers are per thread ({@link ThreadLocal}) and grow once, so the hot loops never allocate. Every C
 * element is produced by the same sequence of operations whatever rectangle it falls in, so splitting C over
 * threads does not change results.
 */
final class GemmKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Micro-tile rows (broadcasts of A) and columns (two vectors of B): 16 accumulators + 2 B + 1 A registers. */
    static final int MR = 8;
    static final int NR = 2 * L;
    /**
     * K block: a B sliver of KC * NR floats (48 KiB at NR = 32) is read from L1 and L2 while A slivers stream. 384
     * rather than 256: BERT-small and MiniLM products (K = d_model = 384) then take a single K block, so each C tile is
     * stored once instead of stored, reloaded and stored again (about 5% on those shapes; GPT-2's K = 768 takes two).
     */
    static final int KC = 384;
    /** M block: an A block of MC * KC floats (192 KiB) stays in the 1 MiB L2 while B slivers are swept. */
    static final int MC = 128;
    /** N block: bounds the packed B buffer (KC * NC floats, 4 MiB) for very wide C. */
    static final int NC = 4096;

    private GemmKernel() {
    }

    /** Per-thread packing buffers and an edge tile. */
    private static final class Scratch {
        final float[] packA = new float[MC * KC];
        float[] packB = new float[0];
        final float[] tile = new float[MR * NR];
        final int[] gatherIndex = new int[NR];
        int gatherStride = -1;
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * {@code C[i0:i1, j0:j1] (=|+=) A[i0:i1, :] @ B[:, j0:j1]}, single-threaded. A element (i, p) is
     * {@code a[aOff + i*aRs + p*aCs]}, B element (p, j) is {@code b[bOff + p*bRs + j*bCs]}, C element (i, j) is
     * {@code c[cOff + i*ldc + j]}. A non-null {@code bias} (only without {@code accumulate}) is where the first K
     * block's accumulators start, {@code bias[biasOff + j]} for column j. Requires {@code k > 0}; arguments were
     * checked by {@link Gemm}.
     */
    static void block(int i0, int i1, int j0, int j1, int k,
                      float[] a, int aOff, int aRs, int aCs,
                      float[] b, int bOff, int bRs, int bCs,
                      float[] c, int cOff, int ldc, boolean accumulate, float[] bias, int biasOff) {
        Scratch s = SCRATCH.get();
        int ncMax = Math.min(NC, roundUp(j1 - j0, NR));
        if (s.packB.length < ncMax * KC) s.packB = new float[ncMax * KC];
        float[] pa = s.packA, pb = s.packB, tile = s.tile;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packB(b, bOff + pc * bRs + jc * bCs, bRs, bCs, kc, nc, pb);
                boolean add = accumulate || pc > 0;
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    packA(a, aOff + ic * aRs + pc * aCs, aRs, aCs, mc, kc, pa);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr), bo = (jr / NR) * kc * NR;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir), ao = (ir / MR) * kc * MR;
                            int co = cOff + (ic + ir) * ldc + jc + jr;
                            int bj = add || bias == null ? -1 : biasOff + jc + jr;
                            if (mr == MR && nr == NR) {
                                micro(kc, pa, ao, pb, bo, c, co, ldc, add, bias, bj);
                            } else {
                                edgeIn(c, co, ldc, mr, nr, add, bias, bj, tile);
                                micro(kc, pa, ao, pb, bo, tile, 0, NR, add || bj >= 0, null, -1);
                                edgeOut(tile, mr, nr, c, co, ldc);
                            }
                        }
                    }
                }
            }
        }
    }

    static int roundUp(int x, int unit) {
        return (x + unit - 1) / unit * unit;
    }

    /**
     * Packs B[0:kc, 0:nc] (origin at {@code base}) into slivers of [kc, NR], row-major inside a sliver, zero-padding
     * the last sliver's missing columns.
     */
    private static void packB(float[] b, int base, int bRs, int bCs, int kc, int nc, float[] dst) {
        for (int jr = 0, d = 0; jr < nc; jr += NR, d += kc * NR) {
            int w = Math.min(NR, nc - jr), src = base + jr * bCs;
            if (bCs == 1 && w == NR) {
                // Row-major B: each sliver row is two contiguous vectors.
                for (int p = 0; p < kc; p++) {
                    int from = src + p * bRs, to = d + p * NR;
                    FloatVector.fromArray(S, b, from).intoArray(dst, to);
                    FloatVector.fromArray(S, b, from + L).intoArray(dst, to + L);
                }
            } else if (bRs == 1 && w == NR) {
                // Transposed B (column j contiguous along p): gather each sliver row across the NR columns; the
                // gathers walk all columns in step along p, so every column's cache line is used up while hot.
                int[] idx = gatherIndex(bCs);
                for (int p = 0; p < kc; p++) {
                    int to = d + p * NR;
                    FloatVector.fromArray(S, b, src + p, idx, 0).intoArray(dst, to);
                    FloatVector.fromArray(S, b, src + p, idx, L).intoArray(dst, to + L);
                }
            } else if (bRs == 1) {
                for (int j = 0; j < w; j++) {
                    int col = src + j * bCs;
                    for (int p = 0; p < kc; p++) dst[d + p * NR + j] = b[col + p];
                }
                zeroColumns(dst, d, kc, w);
            } else {
                for (int p = 0; p < kc; p++) {
                    int row = src + p * bRs, to = d + p * NR;
                    for (int j = 0; j < w; j++) dst[to + j] = b[row + j * bCs];
                }
                zeroColumns(dst, d, kc, w);
            }
        }
    }

    /** Offsets {@code j * stride}, j in [0, NR): the gather map of a transposed-B sliver row (cached per thread). */
    private static int[] gatherIndex(int stride) {
        Scratch s = SCRATCH.get();
        if (s.gatherStride != stride) {
            for (int j = 0; j < NR; j++) s.gatherIndex[j] = j * stride;
            s.gatherStride = stride;
        }
        return s.gatherIndex;
    }

    private static void zeroColumns(float[] dst, int d, int kc, int w) {
        if (w == NR) return;
        for (int p = 0; p < kc; p++) {
            for (int j = w; j < NR; j++) dst[d + p * NR + j] = 0f;
        }
    }

    /**
     * Packs A[0:mc, 0:kc] (origin at {@code base}) into slivers of [kc, MR] (element (r, p) of a sliver at
     * {@code p*MR + r}), zero-padding the last sliver's missing rows.
     */
    private static void packA(float[] a, int base, int aRs, int aCs, int mc, int kc, float[] dst) {
        for (int ir = 0, d = 0; ir < mc; ir += MR, d += kc * MR) {
            int h = Math.min(MR, mc - ir), src = base + ir * aRs;
            if (aRs == 1 && h == MR) {
                // Transposed A (column p contiguous along i): MR consecutive floats per p.
                for (int p = 0; p < kc; p++) System.arraycopy(a, src + p * aCs, dst, d + p * MR, MR);
                continue;
            }
            for (int r = 0; r < h; r++) {
                int row = src + r * aRs;
                for (int p = 0; p < kc; p++) dst[d + p * MR + r] = a[row + p * aCs];
            }
            for (int r = h; r < MR; r++) {
                for (int p = 0; p < kc; p++) dst[d + p * MR + r] = 0f;
            }
        }
    }

    /**
     * Copies C's [mr, nr] corner (or, for a first K block with a bias, the bias in each row: {@code bj >= 0}) into a
     * zero-padded scratch tile, so partial tiles run the full micro-kernel.
     */
    private static void edgeIn(float[] c, int co, int ldc, int mr, int nr, boolean add, float[] bias, int bj,
                               float[] tile) {
        if (!add && bj < 0) return;
        Arrays.fill(tile, 0f);
        for (int r = 0; r < mr; r++) {
            if (add) {
                System.arraycopy(c, co + r * ldc, tile, r * NR, nr);
            } else {
                System.arraycopy(bias, bj, tile, r * NR, nr);
            }
        }
    }

    /** Writes the [mr, nr] corner of the scratch tile back to C. */
    private static void edgeOut(float[] tile, int mr, int nr, float[] c, int co, int ldc) {
        for (int r = 0; r < mr; r++) System.arraycopy(tile, r * NR, c, co + r * ldc, nr);
    }

    /**
     * The register-blocked micro-kernel: {@code C[MR, NR] (=|+=) sum_p A[:, p] (x) B[p, :]} over one packed A sliver
     * ({@code pa} from {@code ao}, [kc, MR]) and B sliver ({@code pb} from {@code bo}, [kc, NR]). The sixteen
     * accumulators are plain locals, started from C when adding, else from the bias row at {@code bias[bj]} when
     * {@code bj >= 0}, else from 0, so that C2 keeps them in vector registers for the whole k loop; everything is
     * written out inline because a call that C2 declines to inline would box them.
     */
    private static void micro(int kc, float[] pa, int ao, float[] pb, int bo, float[] c, int co, int ldc,
                              boolean add, float[] bias, int bj) {
        int o1 = co + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc, o6 = o5 + ldc, o7 = o6 + ldc;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (add) {
            c00 = FloatVector.fromArray(S, c, co);
            c01 = FloatVector.fromArray(S, c, co + L);
            c10 = FloatVector.fromArray(S, c, o1);
            c11 = FloatVector.fromArray(S, c, o1 + L);
            c20 = FloatVector.fromArray(S, c, o2);
            c21 = FloatVector.fromArray(S, c, o2 + L);
            c30 = FloatVector.fromArray(S, c, o3);
            c31 = FloatVector.fromArray(S, c, o3 + L);
            c40 = FloatVector.fromArray(S, c, o4);
            c41 = FloatVector.fromArray(S, c, o4 + L);
            c50 = FloatVector.fromArray(S, c, o5);
            c51 = FloatVector.fromArray(S, c, o5 + L);
            c60 = FloatVector.fromArray(S, c, o6);
            c61 = FloatVector.fromArray(S, c, o6 + L);
            c70 = FloatVector.fromArray(S, c, o7);
            c71 = FloatVector.fromArray(S, c, o7 + L);
        } else if (bj >= 0) {
            c00 = FloatVector.fromArray(S, bias, bj);
            c01 = FloatVector.fromArray(S, bias, bj + L);
            c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
            c40 = c00; c41 = c01; c50 = c00; c51 = c01; c60 = c00; c61 = c01; c70 = c00; c71 = c01;
        } else {
            c00 = FloatVector.zero(S);
            c01 = c00; c10 = c00; c11 = c00; c20 = c00; c21 = c00; c30 = c00; c31 = c00;
            c40 = c00; c41 = c00; c50 = c00; c51 = c00; c60 = c00; c61 = c00; c70 = c00; c71 = c00;
        }
        for (int p = 0; p < kc; p++) {
            int bi = bo + p * NR, ai = ao + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, pb, bi);
            FloatVector b1 = FloatVector.fromArray(S, pb, bi + L);
            FloatVector x = FloatVector.broadcast(S, pa[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, pa[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, pa[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + L);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + L);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + L);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + L);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + L);
        c60.intoArray(c, o6);
        c61.intoArray(c, o6 + L);
        c70.intoArray(c, o7);
        c71.intoArray(c, o7 + L);
    }
}
