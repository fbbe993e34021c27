package dev.loupe.weights.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** A protobuf wire-format writer for building ONNX test models field by field (test helper, written to the spec). */
final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Proto varint(int field, long value) {
        key(field, 0);
        raw(value);
        return this;
    }

    Proto bytes(int field, byte[] value) {
        key(field, 2);
        raw(value.length);
        out.writeBytes(value);
        return this;
    }

    Proto string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    Proto message(int field, Proto value) {
        return bytes(field, value.toByteArray());
    }

    Proto fixed32(int field, float value) {
        key(field, 5);
        int bits = Float.floatToIntBits(value);
        for (int i = 0; i < 4; i++) out.write(bits >>> (8 * i));
        return this;
    }

    /** Raw bytes with no key (for hand-made malformed input). */
    Proto rawBytes(byte... b) {
        out.writeBytes(b);
        return this;
    }

    void key(int field, int wire) {
        raw(((long) field << 3) | wire);
    }

    void raw(long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    static byte[] floatsLe(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static byte[] longsLe(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return b.array();
    }

    /** A TensorProto with raw_data. */
    static Proto tensor(String name, int dataType, byte[] raw, long... dims) {
        Proto t = new Proto();
        for (long d : dims) t.varint(1, d);
        t.varint(2, dataType).string(8, name).bytes(9, raw);
        return t;
    }

    static Proto node(String op, String name, String[] inputs, String[] outputs, Proto... attributes) {
        Proto n = new Proto();
        for (String i : inputs) n.string(1, i);
        for (String o : outputs) n.string(2, o);
        n.string(3, name).string(4, op);
        for (Proto a : attributes) n.message(5, a);
        return n;
    }

    static Proto valueInfo(String name) {
        return new Proto().string(1, name);
    }

    /** A ModelProto around {@code graph}, opset 14. */
    static byte[] model(Proto graph) {
        return new Proto().varint(1, 8).string(2, "test").message(7, graph)
                .message(8, new Proto().string(1, "").varint(2, 14)).toByteArray();
    }
}
