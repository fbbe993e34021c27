package dev.loupe.weights;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.MappedStorage;
import dev.loupe.tensor.Shapes;
import dev.loupe.tensor.Tensor;
import dev.loupe.weights.json.Json;
import dev.loupe.weights.json.JsonException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor
 * name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the byte buffer after the
 * header) plus an optional {@code "__metadata__"} string map, then the little-endian tensor bytes.
 *
 * <p>The whole header is validated before anything is returned: N is below {@link #MAX_HEADER_BYTES} and within the
 * file; the JSON is well-formed UTF-8 without duplicate names; every dtype is known; every shape is a list of
 * non-negative integers; every {@code data_offsets} range lies inside the byte buffer and holds exactly
 * shape × dtype-size bytes; no two ranges overlap (gaps are tolerated). Float tensors (F32, F16, BF16) are served as
 * views over one mapping of the file; other known dtypes (F64, integer, bool, F8 variants) are checked the same way
 * and listed in {@link Checkpoint#skipped()}.
 *
 * <p>{@link #write} produces F32 files in the same format.
 */
public final class SafeTensors {
    /** Largest header accepted; real headers are a few hundred KB even for 10B-parameter models. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    /** Bytes per element of every dtype the format defines; only the first three are served as floats. */
    private static final Map<String, Integer> DTYPE_BYTES = Map.ofEntries(
            Map.entry("F32", 4), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("F64", 8), Map.entry("I64", 8), Map.entry("U64", 8), Map.entry("I32", 4), Map.entry("U32", 4),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("I8", 1), Map.entry("U8", 1), Map.entry("BOOL", 1),
            Map.entry("F8_E4M3", 1), Map.entry("F8_E5M2", 1));

    private SafeTensors() {}

    private record Entry(String name, String dtype, long[] shape, long begin, long end) {}

    /**
     * Maps and validates {@code file}. Throws {@link WeightFileException} naming the file, the tensor and the fault
     * when the file is truncated or inconsistent; the mapping is released then. The caller closes the result.
     */
    public static Checkpoint open(Path file) throws IOException {
        return MappedFile.read(file, SafeTensors::read);
    }

    /** Elements converted per write, so that saving a large tensor needs only a small buffer. */
    private static final int WRITE_CHUNK = 1 << 16;

    /**
     * Writes {@code tensors} as an F32 safetensors file: header entries and data in the map's order, the
     * {@code __metadata__} object first when {@code metadata} is not empty, the header padded with spaces to a multiple
     * of 8 bytes so the data is 8-aligned, little-endian elements in row-major order. Tensors of any layout (views,
     * transposes, mapped or reduced-precision storage) are written as their row-major float32 values; they are not
     * modified. The file is written to a temporary file in the same folder and then moved over {@code file}, so a
     * reader never sees it half written and a failed write leaves any earlier file in place ({@link AtomicFiles}).
     *
     * @param tensors  name → tensor, any shape; names must not be {@code "__metadata__"}
     * @param metadata free-form strings stored in the header (may be empty)
     * @throws IllegalArgumentException for a null or reserved name or a null tensor
     * @throws IOException              when the folder cannot be written
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put("__metadata__", new LinkedHashMap<>(metadata));
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.equals("__metadata__")) {
                throw new IllegalArgumentException("tensor name " + name + " is reserved or null");
            }
            if (e.getValue() == null) throw new IllegalArgumentException("tensor '" + name + "' is null");
            long bytes = 4L * e.getValue().numel();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", "F32");
            entry.put("shape", e.getValue().shape());
            entry.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(name, entry);
            offset += bytes;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;

        AtomicFiles.write(file, ch -> {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            AtomicFiles.writeFully(ch, head.flip());
            ByteBuffer buf = ByteBuffer.allocate(4 * WRITE_CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            float[] chunk = new float[WRITE_CHUNK];
            for (Tensor t : tensors.values()) {
                Tensor c = t.contiguous(); // row-major order, whatever the strides
                for (int start = 0; start < c.numel(); start += WRITE_CHUNK) {
                    int n = Math.min(WRITE_CHUNK, c.numel() - start);
                    c.storage().read((long) c.offset() + start, chunk, 0, n);
                    buf.clear();
                    buf.asFloatBuffer().put(chunk, 0, n);
                    buf.limit(4 * n);
                    AtomicFiles.writeFully(ch, buf);
                }
            }
        });
    }

    private static Checkpoint read(MappedFile mf) throws WeightFileException {
        Path file = mf.path();
        if (mf.size() < 8) {
            throw new WeightFileException(file, "file is " + mf.size() + " bytes, too short for the 8-byte header "
                    + "length of a safetensors file");
        }
        long n = mf.u64(0, "header length");
        if (n < 2 || n > MAX_HEADER_BYTES || n > mf.size() - 8) {
            throw new WeightFileException(file, "header length " + Long.toUnsignedString(n) + " is not plausible for "
                    + "a file of " + mf.size() + " bytes (limit " + MAX_HEADER_BYTES + "): not a safetensors file, "
                    + "or truncated");
        }
        Map<?, ?> header = parseHeader(mf, (int) n);
        long dataStart = 8 + n, dataLength = mf.size() - dataStart;

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> e : header.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                entries.add(entry(file, name, e.getValue(), dataLength));
            }
        }
        checkNoOverlap(file, entries);

        Map<String, MappedCheckpoint.View> views = new LinkedHashMap<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        for (Entry en : entries) {
            DType dtype = floatType(en.dtype());
            if (dtype == null) {
                skipped.put(en.name(), MappedCheckpoint.describe(en.dtype(), en.shape()));
                continue;
            }
            int[] shape = intShape(file, en);
            MappedStorage storage = new MappedStorage(
                    mf.slice(dataStart + en.begin(), en.end() - en.begin(), "tensor " + en.name()), dtype);
            views.put(en.name(), new MappedCheckpoint.View(storage, shape, Shapes.contiguousStrides(shape), 0));
        }
        return new MappedCheckpoint(mf, views, skipped, metadata);
    }

    private static Map<?, ?> parseHeader(MappedFile mf, int n) throws WeightFileException {
        byte[] bytes = mf.copy(8, n, "header");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new WeightFileException(mf.path(), "header is not valid UTF-8", e);
        }
        // The format allows trailing spaces as padding so that the data is aligned.
        Object json;
        try {
            json = Json.parse(text.stripTrailing());
        } catch (JsonException e) {
            throw new WeightFileException(mf.path(), "header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(json instanceof Map<?, ?> map)) {
            throw new WeightFileException(mf.path(), "header is not a JSON object");
        }
        return map;
    }

    private static void readMetadata(Path file, Object value, Map<String, String> out) throws WeightFileException {
        if (!(value instanceof Map<?, ?> m)) throw new WeightFileException(file, "__metadata__ is not an object");
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw new WeightFileException(file, "__metadata__ value for '" + e.getKey() + "' is not a string");
            }
            out.put((String) e.getKey(), s);
        }
    }

    private static Entry entry(Path file, String name, Object value, long dataLength) throws WeightFileException {
        if (!(value instanceof Map<?, ?> m)) throw new WeightFileException(file, name, "header entry is not an object");
        if (!(m.get("dtype") instanceof String dtype)) throw new WeightFileException(file, name, "missing dtype");
        Integer width = DTYPE_BYTES.get(dtype);
        if (width == null) throw new WeightFileException(file, name, "unknown dtype " + dtype);
        long[] shape = longs(file, name, m.get("shape"), "shape", -1);
        long[] offsets = longs(file, name, m.get("data_offsets"), "data_offsets", 2);
        long numel = 1;
        try {
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            long expected = Math.multiplyExact(numel, (long) width);
            long begin = offsets[0], end = offsets[1];
            if (begin > end || end > dataLength) {
                throw new WeightFileException(file, name, "data_offsets [" + begin + ", " + end + "] fall outside the "
                        + dataLength + "-byte data buffer (truncated file?)");
            }
            if (end - begin != expected) {
                throw new WeightFileException(file, name, "data_offsets [" + begin + ", " + end + "] hold "
                        + (end - begin) + " bytes but " + dtype + " " + java.util.Arrays.toString(shape) + " needs "
                        + expected);
            }
            return new Entry(name, dtype, shape, begin, end);
        } catch (ArithmeticException overflow) {
            throw new WeightFileException(file, name, "shape " + java.util.Arrays.toString(shape) + " overflows");
        }
    }

    /** A JSON array of non-negative integers; {@code length} -1 means any length. */
    private static long[] longs(Path file, String name, Object value, String field, int length)
            throws WeightFileException {
        if (!(value instanceof List<?> list) || (length >= 0 && list.size() != length)) {
            throw new WeightFileException(file, name, field + " is missing or not "
                    + (length >= 0 ? "a list of " + length + " integers" : "a list of integers"));
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long v) || v < 0) {
                throw new WeightFileException(file, name, field + " holds " + list.get(i)
                        + ", not a non-negative integer");
            }
            out[i] = v;
        }
        return out;
    }

    private static void checkNoOverlap(Path file, List<Entry> entries) throws WeightFileException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry prev = null;
        for (Entry e : sorted) {
            if (e.begin() == e.end()) continue; // empty tensors own no bytes
            if (prev != null && e.begin() < prev.end()) {
                throw new WeightFileException(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end()
                        + "] overlap tensor '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "]");
            }
            prev = e;
        }
    }

    private static DType floatType(String dtype) {
        return switch (dtype) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default -> null;
        };
    }

    private static int[] intShape(Path file, Entry e) throws WeightFileException {
        int[] shape = new int[e.shape().length];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            numel *= e.shape()[i]; // no overflow: checked against the byte range already
            if (e.shape()[i] > Integer.MAX_VALUE || numel > Integer.MAX_VALUE) {
                throw new WeightFileException(file, e.name(), "shape " + java.util.Arrays.toString(e.shape())
                        + " has more than 2^31 - 1 elements, the most a Loupe tensor holds");
            }
            shape[i] = (int) e.shape()[i];
        }
        return shape;
    }
}
