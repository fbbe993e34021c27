package dev.loupe.weights.onnx;

import dev.loupe.weights.WeightFileException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A bounds-checked reader of protobuf wire format over one byte range: varints, fixed32/64 and length-delimited
 * fields. Every length is checked against the bytes left in the enclosing message before anything is read or
 * allocated, so a hostile length can never make a reader allocate more than the input holds. Errors are
 * {@link WeightFileException}s naming the file, the message being read and the byte offset.
 */
final class ProtoReader {
    static final int VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;

    private final byte[] buf;
    private final Path source;
    private final String context; // e.g. "ModelProto.graph.initializer"
    private final int limit;
    private int pos;
    private int field, wire;

    ProtoReader(byte[] buf, int offset, int limit, Path source, String context) {
        this.buf = buf;
        this.pos = offset;
        this.limit = limit;
        this.source = source;
        this.context = context;
    }

    boolean hasMore() {
        return pos < limit;
    }

    /** Reads the next field's key; then {@link #field()} and {@link #wire()} describe it. */
    void next() throws WeightFileException {
        long key = varint();
        field = (int) (key >>> 3);
        wire = (int) (key & 7);
        if ((key >>> 3) > 0x1FFF_FFFFL || field == 0) throw error("invalid field number " + (key >>> 3));
        if (wire != VARINT && wire != FIXED64 && wire != LEN && wire != FIXED32) {
            throw error("field " + field + " has unsupported wire type " + wire);
        }
    }

    int field() {
        return field;
    }

    int wire() {
        return wire;
    }

    /** Fails unless the current field has wire type {@code expected}; {@code name} is the field's proto name. */
    void expect(int expected, String name) throws WeightFileException {
        if (wire != expected) {
            throw error("field " + field + " (" + name + ") has wire type " + wire + ", expected " + expected);
        }
    }

    long varint() throws WeightFileException {
        long result = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= limit) throw error("truncated varint");
            int b = buf[pos++] & 0xFF;
            result |= (long) (b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw error("varint longer than 10 bytes");
    }

    /** The current VARINT field as an int64 value. */
    long int64(String name) throws WeightFileException {
        expect(VARINT, name);
        return varint();
    }

    float fixed32Float(String name) throws WeightFileException {
        expect(FIXED32, name);
        return fixed32();
    }

    /** Four little-endian bytes as a float, without a key (an element of a packed run). */
    float fixed32() throws WeightFileException {
        need(4);
        int bits = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16
                | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    /** The current LEN field's payload as [offset, length] into the buffer; the reader moves past it. */
    int[] bytes(String name) throws WeightFileException {
        expect(LEN, name);
        int len = length();
        int[] range = {pos, len};
        pos += len;
        return range;
    }

    String string(String name) throws WeightFileException {
        int[] r = bytes(name);
        return new String(buf, r[0], r[1], StandardCharsets.UTF_8);
    }

    /** A reader over the current LEN field's payload (an embedded message). */
    ProtoReader message(String name) throws WeightFileException {
        int[] r = bytes(name);
        return new ProtoReader(buf, r[0], r[0] + r[1], source, context + "." + name);
    }

    /** The bytes of the current field, whatever its wire type, as [offset, length] (for repeated scalars). */
    int[] raw(String name) throws WeightFileException {
        int start = pos;
        switch (wire) {
            case LEN -> {
                return bytes(name);
            }
            case VARINT -> varint();
            case FIXED32 -> skipBytes(4);
            case FIXED64 -> skipBytes(8);
            default -> throw error("field " + field + " (" + name + ") has unsupported wire type " + wire);
        }
        return new int[] {start, pos - start};
    }

    void skip() throws WeightFileException {
        switch (wire) {
            case VARINT -> varint();
            case FIXED64 -> skipBytes(8);
            case FIXED32 -> skipBytes(4);
            case LEN -> skipBytes(length());
            default -> throw error("field " + field + " has unsupported wire type " + wire);
        }
    }

    private int length() throws WeightFileException {
        long len = varint();
        if (len < 0 || len > limit - pos) {
            throw error("field " + field + " declares " + len + " bytes but only " + (limit - pos) + " remain");
        }
        return (int) len;
    }

    private void skipBytes(int n) throws WeightFileException {
        need(n);
        pos += n;
    }

    private void need(int n) throws WeightFileException {
        if (limit - pos < n) throw error("truncated: field " + field + " needs " + n + " bytes, " + (limit - pos) + " remain");
    }

    byte[] buffer() {
        return buf;
    }

    Path source() {
        return source;
    }

    WeightFileException error(String problem) {
        return new WeightFileException(source, context + " at byte " + pos + ": " + problem);
    }
}
