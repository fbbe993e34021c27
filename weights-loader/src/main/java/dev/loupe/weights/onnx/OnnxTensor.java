package dev.loupe.weights.onnx;

import dev.loupe.tensor.Tensor;
import dev.loupe.weights.WeightFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One ONNX {@code TensorProto} (an initializer or a {@code Constant} node's value), decoded lazily: the values stay
 * in the model's bytes until {@link #toTensor()} or {@link #toLongs()} reads them. Its element count was checked
 * against the bytes present when the model was read, so decoding allocates at most a small multiple of the input.
 */
public final class OnnxTensor {
    /** ONNX {@code TensorProto.DataType} codes this reader decodes. */
    public static final int FLOAT = 1, INT32 = 6, INT64 = 7, FLOAT16 = 10, DOUBLE = 11, BFLOAT16 = 16;

    enum Encoding { RAW, FLOAT_DATA, INT32_DATA, INT64_DATA, DOUBLE_DATA }

    private final String name;
    private final int dataType;
    private final long[] dims;
    private final byte[] buf;
    private final Encoding encoding;
    private final List<int[]> ranges; // [offset, length] pieces of the encoded values, in order
    private final Path source;

    private OnnxTensor(String name, int dataType, long[] dims, byte[] buf, Encoding encoding, List<int[]> ranges,
                       Path source) {
        this.name = name;
        this.dataType = dataType;
        this.dims = dims;
        this.buf = buf;
        this.encoding = encoding;
        this.ranges = ranges;
        this.source = source;
    }

    /** The tensor's name (empty for an unnamed Constant value). */
    public String name() {
        return name;
    }

    /** The ONNX data type code ({@link #FLOAT}, {@link #FLOAT16}, {@link #INT64} ...). */
    public int dataType() {
        return dataType;
    }

    /** The shape as an int array (a copy); a scalar has shape []. */
    public int[] shape() {
        int[] s = new int[dims.length];
        for (int i = 0; i < dims.length; i++) s[i] = (int) dims[i]; // bounded when read
        return s;
    }

    /** Number of elements (1 for a scalar). */
    public int elementCount() {
        return count(dims);
    }

    /** True for FLOAT, FLOAT16, BFLOAT16 and DOUBLE tensors (what {@link #toTensor()} accepts). */
    public boolean isFloat() {
        return dataType == FLOAT || dataType == FLOAT16 || dataType == BFLOAT16 || dataType == DOUBLE;
    }

    /**
     * The values as a new float32 heap tensor of {@link #shape()}, widened from float16/bfloat16 or narrowed from
     * double.
     *
     * @throws WeightFileException for a non-float tensor
     */
    public Tensor toTensor() throws WeightFileException {
        if (!isFloat()) throw new WeightFileException(source, name, "data type " + dataType + " is not a float type");
        boolean consistent = switch (encoding) {
            case RAW -> true;
            case FLOAT_DATA -> dataType == FLOAT;
            case DOUBLE_DATA -> dataType == DOUBLE;
            case INT32_DATA -> dataType == FLOAT16 || dataType == BFLOAT16;
            case INT64_DATA -> false;
        };
        if (!consistent) {
            throw new WeightFileException(source, name, "data type " + dataType + " stored in the " + encoding
                    + " field");
        }
        int n = elementCount();
        float[] out = new float[n];
        byte[] bytes = concat();
        switch (encoding) {
            case RAW -> {
                for (int i = 0; i < n; i++) {
                    out[i] = switch (dataType) {
                        case FLOAT -> Float.intBitsToFloat(le32(bytes, 4 * i));
                        case DOUBLE -> (float) Double.longBitsToDouble(le64(bytes, 8 * i));
                        case FLOAT16 -> Float.float16ToFloat((short) le16(bytes, 2 * i));
                        default -> Float.intBitsToFloat(le16(bytes, 2 * i) << 16); // BFLOAT16
                    };
                }
            }
            case FLOAT_DATA -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(le32(bytes, 4 * i));
            }
            case DOUBLE_DATA -> {
                for (int i = 0; i < n; i++) out[i] = (float) Double.longBitsToDouble(le64(bytes, 8 * i));
            }
            case INT32_DATA -> { // float16/bfloat16 bit patterns, one per varint
                long[] v = varints(bytes, n);
                for (int i = 0; i < n; i++) {
                    int bits = (int) v[i] & 0xFFFF;
                    out[i] = dataType == FLOAT16 ? Float.float16ToFloat((short) bits) : Float.intBitsToFloat(bits << 16);
                }
            }
            case INT64_DATA -> throw new IllegalStateException("unreachable");
        }
        return Tensor.of(out, shape());
    }

    /**
     * The values of an INT64 or INT32 tensor (shape constants, axes), flattened.
     *
     * @throws WeightFileException for another data type
     */
    public long[] toLongs() throws WeightFileException {
        int n = elementCount();
        byte[] bytes = concat();
        if (dataType == INT64 && encoding == Encoding.RAW) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) out[i] = le64(bytes, 8 * i);
            return out;
        }
        if (dataType == INT32 && encoding == Encoding.RAW) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) out[i] = le32(bytes, 4 * i);
            return out;
        }
        if ((dataType == INT64 && encoding == Encoding.INT64_DATA) || (dataType == INT32 && encoding == Encoding.INT32_DATA)) {
            long[] v = varints(bytes, n);
            if (dataType == INT32) for (int i = 0; i < n; i++) v[i] = (int) v[i];
            return v;
        }
        throw new WeightFileException(source, name, "data type " + dataType + " is not an integer type");
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + name + ", type " + dataType + ", " + Arrays.toString(dims) + "]";
    }

    // ---------------------------------------------------------------- reading

    /** Reads a {@code TensorProto} and checks that its stored values match its shape and type. */
    static OnnxTensor read(ProtoReader r) throws WeightFileException {
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        List<int[]> raw = null, floats = new ArrayList<>(), int32s = new ArrayList<>(), int64s = new ArrayList<>();
        List<int[]> doubles = new ArrayList<>();
        boolean external = false;
        while (r.hasMore()) {
            r.next();
            switch (r.field()) {
                case 1 -> { // dims: packed or not
                    if (r.wire() == ProtoReader.LEN) {
                        ProtoReader p = r.message("dims");
                        while (p.hasMore()) dims.add(p.varint());
                    } else {
                        dims.add(r.int64("dims"));
                    }
                }
                case 2 -> dataType = (int) r.int64("data_type");
                case 3 -> throw r.error("segmented tensors are not supported");
                case 4 -> floats.add(repeated(r, ProtoReader.FIXED32, "float_data"));
                case 5 -> int32s.add(repeated(r, ProtoReader.VARINT, "int32_data"));
                case 7 -> int64s.add(repeated(r, ProtoReader.VARINT, "int64_data"));
                case 8 -> name = r.string("name");
                case 9 -> raw = List.of(r.bytes("raw_data"));
                case 10 -> doubles.add(repeated(r, ProtoReader.FIXED64, "double_data"));
                case 13 -> {
                    r.bytes("external_data");
                    external = true;
                }
                case 14 -> external |= r.int64("data_location") == 1;
                default -> r.skip();
            }
        }
        String label = name.isEmpty() ? "(unnamed)" : name;
        if (external) {
            throw new WeightFileException(r.source(), label, "stores its data outside the model file (ONNX external "
                    + "data), which is not supported; re-export the model as a single .onnx file");
        }
        long[] d = new long[dims.size()];
        long n = 1;
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
            if (d[i] < 0 || d[i] > Integer.MAX_VALUE) {
                throw new WeightFileException(r.source(), label, "invalid dimension " + d[i] + " in " + dims);
            }
            n *= d[i];
            if (n > Integer.MAX_VALUE) throw new WeightFileException(r.source(), label, "too many elements: " + dims);
        }
        Encoding enc;
        List<int[]> ranges;
        int present; // values present in the encoded bytes, checked against the shape
        if (raw != null) {
            enc = Encoding.RAW;
            ranges = raw;
            int size = elementSize(dataType);
            if (size == 0) {
                throw new WeightFileException(r.source(), label, "unsupported data type " + dataType + " in raw_data");
            }
            int bytes = raw.get(0)[1];
            if (bytes % size != 0) {
                throw new WeightFileException(r.source(), label, "raw_data of " + bytes + " bytes is not a whole "
                        + "number of " + size + "-byte elements");
            }
            present = bytes / size;
        } else if (!floats.isEmpty()) {
            enc = Encoding.FLOAT_DATA;
            ranges = floats;
            present = total(floats) / 4;
        } else if (!doubles.isEmpty()) {
            enc = Encoding.DOUBLE_DATA;
            ranges = doubles;
            present = total(doubles) / 8;
        } else if (!int64s.isEmpty()) {
            enc = Encoding.INT64_DATA;
            ranges = int64s;
            present = countVarints(r.buffer(), int64s);
        } else if (!int32s.isEmpty()) {
            enc = Encoding.INT32_DATA;
            ranges = int32s;
            present = countVarints(r.buffer(), int32s);
        } else {
            enc = Encoding.RAW;
            ranges = List.of();
            present = 0;
        }
        if (present != n) {
            throw new WeightFileException(r.source(), label, "shape " + dims + " needs " + n + " values but the file "
                    + "holds " + present);
        }
        return new OnnxTensor(name, dataType, d, r.buffer(), enc, ranges, r.source());
    }

    /** One piece of a repeated scalar field: a packed run, or one unpacked element of wire type {@code single}. */
    private static int[] repeated(ProtoReader r, int single, String name) throws WeightFileException {
        if (r.wire() != ProtoReader.LEN) r.expect(single, name);
        int[] range = r.raw(name);
        if (single == ProtoReader.FIXED32 && range[1] % 4 != 0) throw r.error(name + " is not a multiple of 4 bytes");
        if (single == ProtoReader.FIXED64 && range[1] % 8 != 0) throw r.error(name + " is not a multiple of 8 bytes");
        return range;
    }

    private static int elementSize(int dataType) {
        return switch (dataType) {
            case FLOAT, INT32 -> 4;
            case INT64, DOUBLE -> 8;
            case FLOAT16, BFLOAT16 -> 2;
            default -> 0;
        };
    }

    private static int total(List<int[]> ranges) {
        long t = 0;
        for (int[] r : ranges) t += r[1];
        return (int) Math.min(t, Integer.MAX_VALUE);
    }

    private static int countVarints(byte[] buf, List<int[]> ranges) {
        int n = 0;
        for (int[] r : ranges) for (int i = r[0]; i < r[0] + r[1]; i++) if ((buf[i] & 0x80) == 0) n++;
        return n;
    }

    private static int count(long[] dims) {
        long n = 1;
        for (long d : dims) n *= d;
        return (int) n;
    }

    private byte[] concat() {
        if (ranges.size() == 1) return Arrays.copyOfRange(buf, ranges.get(0)[0], ranges.get(0)[0] + ranges.get(0)[1]);
        byte[] out = new byte[total(ranges)];
        int at = 0;
        for (int[] r : ranges) {
            System.arraycopy(buf, r[0], out, at, r[1]);
            at += r[1];
        }
        return out;
    }

    private static long[] varints(byte[] b, int n) {
        long[] out = new long[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            long v = 0;
            for (int shift = 0; ; shift += 7) {
                int x = b[at++] & 0xFF;
                v |= (long) (x & 0x7F) << shift;
                if (x < 0x80) break;
            }
            out[i] = v;
        }
        return out;
    }

    private static int le16(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8;
    }

    private static int le32(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24;
    }

    private static long le64(byte[] b, int i) {
        return (le32(b, i) & 0xFFFF_FFFFL) | ((long) le32(b, i + 4) << 32);
    }
}
