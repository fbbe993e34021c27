package dev.loupe.tensor;

import java.util.Arrays;

/** Static helpers on shapes and strides, shared by ops and backends. Shapes are never mutated. */
public final class Shapes {
    private Shapes() {
    }

    /** Number of elements of a tensor of this shape (1 for a scalar). Throws on overflow past 2^31 - 1. */
    public static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + format(shape));
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + format(shape) + " has more than 2^31 - 1 elements");
            }
        }
        return (int) n;
    }

    /** Row-major strides of a contiguous tensor of this shape. */
    public static int[] contiguousStrides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    /** {@code [2, 3]}: the form every error message uses. */
    public static String format(int[] shape) {
        return Arrays.toString(shape);
    }

    /**
     * Resolves a possibly negative dim ({@code -1} is the last) against {@code rank}, or throws naming the op.
     */
    public static int dim(String op, int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException(op + ": dim " + dim + " out of range for a tensor of rank " + rank);
        }
        return d;
    }

    /** The NumPy broadcast of two shapes, or an exception naming the op and both shapes. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + format(a) + " and " + format(b)
                        + " do not broadcast (dim " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Copy of {@code shape} with {@code dim} removed. */
    public static int[] remove(int[] shape, int dim) {
        int[] out = new int[shape.length - 1];
        System.arraycopy(shape, 0, out, 0, dim);
        System.arraycopy(shape, dim + 1, out, dim, shape.length - dim - 1);
        return out;
    }

    /** Copy of {@code shape} with {@code size} inserted at {@code dim}. */
    public static int[] insert(int[] shape, int dim, int size) {
        int[] out = new int[shape.length + 1];
        System.arraycopy(shape, 0, out, 0, dim);
        out[dim] = size;
        System.arraycopy(shape, dim, out, dim + 1, shape.length - dim);
        return out;
    }

    /** Copy of {@code shape} with {@code shape[dim]} replaced by {@code size}. */
    public static int[] with(int[] shape, int dim, int size) {
        int[] out = shape.clone();
        out[dim] = size;
        return out;
    }
}
