package dev.loupe.weights.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.loupe.weights.WeightFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OnnxModelTest {
    private static final Path SRC = Path.of("test.onnx");

    /** A small graph: y = (x @ W + b) with W an anonymous [2, 3] initializer, plus tensors in every encoding. */
    static byte[] sample() {
        Proto g = new Proto().string(2, "g");
        g.message(1, Proto.node("MatMul", "mm", new String[] {"x", "onnx::MatMul_7"}, new String[] {"h"}));
        g.message(1, Proto.node("Add", "add", new String[] {"dense.bias", "h"}, new String[] {"y"}));
        g.message(1, Proto.node("Transpose", "tr", new String[] {"y"}, new String[] {"z"},
                new Proto().string(1, "perm").message(8, packedInts(1, 0)).varint(20, 7)));
        g.message(1, Proto.node("Constant", "c", new String[0], new String[] {"eps"},
                new Proto().string(1, "value").message(5, Proto.tensor("", OnnxTensor.FLOAT, Proto.floatsLe(1e-12f)))
                        .varint(20, 4)));
        g.message(1, Proto.node("LayerNormalization", "ln", new String[] {"z"}, new String[] {"out"},
                new Proto().string(1, "epsilon").fixed32(2, 1e-5f).varint(20, 1),
                new Proto().string(1, "axis").varint(3, -1).varint(20, 2)));
        g.message(5, Proto.tensor("onnx::MatMul_7", OnnxTensor.FLOAT, Proto.floatsLe(1, 2, 3, 4, 5, 6), 2, 3));
        // float_data, packed
        g.message(5, new Proto().varint(1, 3).varint(2, OnnxTensor.FLOAT)
                .bytes(4, Proto.floatsLe(0.5f, -1f, 2f)).string(8, "dense.bias"));
        // float_data, unpacked (one fixed32 per element)
        g.message(5, new Proto().varint(1, 2).varint(2, OnnxTensor.FLOAT).fixed32(4, 7f).fixed32(4, -8f)
                .string(8, "unpacked"));
        // float16 in raw_data: 1.0 = 0x3C00, -2.0 = 0xC000
        g.message(5, Proto.tensor("half", OnnxTensor.FLOAT16, new byte[] {0x00, 0x3C, 0x00, (byte) 0xC0}, 2));
        g.message(5, Proto.tensor("position_ids", OnnxTensor.INT64, Proto.longsLe(0, 1, 2), 1, 3));
        g.message(11, Proto.valueInfo("x"));
        g.message(11, Proto.valueInfo("onnx::MatMul_7")); // old exporters list weights as inputs too
        g.message(12, Proto.valueInfo("out"));
        return Proto.model(g);
    }

    private static Proto packedInts(long... v) {
        Proto p = new Proto();
        for (long x : v) p.raw(x);
        return p;
    }

    @Test
    void readsGraphNodesAttributesAndInitializersInEveryEncoding() throws Exception {
        OnnxModel m = OnnxModel.read(sample(), SRC);
        assertEquals("test", m.producer());
        assertEquals(14, m.opsetVersion());
        OnnxGraph g = m.graph();
        assertEquals(List.of("x"), g.inputs());
        assertEquals(List.of("out"), g.outputs());
        assertEquals(5, g.nodes().size());
        OnnxNode mm = g.nodes().get(0);
        assertEquals("MatMul", mm.opType());
        assertEquals(List.of("x", "onnx::MatMul_7"), mm.inputs());
        assertArrayEquals(new long[] {1, 0}, g.nodes().get(2).attribute("perm").ints());
        assertEquals(1e-12f, g.nodes().get(3).attribute("value").t().toTensor().item());
        assertEquals(1e-5f, g.nodes().get(4).attribute("epsilon").f());
        assertEquals(-1, g.nodes().get(4).attribute("axis").i());
        assertNull(mm.attribute("perm"));

        OnnxTensor w = g.initializers().get("onnx::MatMul_7");
        assertArrayEquals(new int[] {2, 3}, w.shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toTensor().toFloatArray());
        assertArrayEquals(new float[] {0.5f, -1f, 2f}, g.initializers().get("dense.bias").toTensor().toFloatArray());
        assertArrayEquals(new float[] {7f, -8f}, g.initializers().get("unpacked").toTensor().toFloatArray());
        assertArrayEquals(new float[] {1f, -2f}, g.initializers().get("half").toTensor().toFloatArray());
        OnnxTensor ids = g.initializers().get("position_ids");
        assertArrayEquals(new long[] {0, 1, 2}, ids.toLongs());
        assertThrows(WeightFileException.class, ids::toTensor);
    }

    @Test
    void everyTruncationFailsCleanlyOrParses() {
        byte[] full = sample();
        for (int n = 0; n < full.length; n++) {
            byte[] cut = java.util.Arrays.copyOf(full, n);
            try {
                OnnxModel.read(cut, SRC); // a cut between top-level fields after the graph is a valid (shorter) model
            } catch (WeightFileException e) {
                assertTrue(e.getMessage().startsWith("test.onnx: "), e.getMessage());
            } catch (RuntimeException e) {
                fail("truncation at " + n + " threw " + e);
            }
        }
    }

    @Test
    void randomBytesAndFlippedBytesNeverEscapeAsOtherExceptions() {
        SplittableRandom rng = new SplittableRandom(42);
        byte[] good = sample();
        for (int trial = 0; trial < 2000; trial++) {
            byte[] b;
            if (trial % 2 == 0) {
                b = new byte[rng.nextInt(64)];
                for (int i = 0; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
            } else {
                b = good.clone();
                for (int k = 0; k < 3; k++) b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
            }
            try {
                OnnxModel m = OnnxModel.read(b, SRC);
                for (OnnxTensor t : m.graph().initializers().values()) if (t.isFloat()) t.toTensor();
            } catch (WeightFileException e) {
                // expected
            } catch (RuntimeException | OutOfMemoryError e) {
                fail("trial " + trial + " threw " + e);
            }
        }
    }

    @Test
    void lengthPastTheEndIsRejectedBeforeAllocating() {
        Proto p = new Proto();
        p.key(7, 2);
        p.raw(Integer.MAX_VALUE); // a 2 GB graph in a 6-byte file
        var e = assertThrows(WeightFileException.class, () -> OnnxModel.read(p.toByteArray(), SRC));
        assertTrue(e.getMessage().contains("declares 2147483647 bytes but only 0 remain"), e.getMessage());
    }

    @Test
    void wrongWireTypeIsNamed() {
        byte[] b = new Proto().varint(7, 5).toByteArray(); // graph as a varint
        var e = assertThrows(WeightFileException.class, () -> OnnxModel.read(b, SRC));
        assertTrue(e.getMessage().contains("field 7 (graph) has wire type 0, expected 2"), e.getMessage());
        byte[] group = new Proto().rawBytes((byte) ((1 << 3) | 3)).toByteArray(); // deprecated group start
        assertThrows(WeightFileException.class, () -> OnnxModel.read(group, SRC));
    }

    @Test
    void overlongVarintIsRejected() {
        byte[] b = new byte[12];
        java.util.Arrays.fill(b, (byte) 0xFF);
        var e = assertThrows(WeightFileException.class, () -> OnnxModel.read(b, SRC));
        assertTrue(e.getMessage().contains("varint longer than 10 bytes"), e.getMessage());
    }

    @Test
    void hugeShapeWithLittleDataIsRejectedWithoutAllocating() {
        Proto g = new Proto().message(5, Proto.tensor("w", OnnxTensor.FLOAT, Proto.floatsLe(1, 2), 100000, 100000));
        var e = assertThrows(WeightFileException.class, () -> OnnxModel.read(Proto.model(g), SRC));
        assertTrue(e.getMessage().contains("too many elements"), e.getMessage());
        Proto g2 = new Proto().message(5, Proto.tensor("w", OnnxTensor.FLOAT, Proto.floatsLe(1, 2), 1000, 1000));
        var e2 = assertThrows(WeightFileException.class, () -> OnnxModel.read(Proto.model(g2), SRC));
        assertTrue(e2.getMessage().contains("needs 1000000 values but the file holds 2"), e2.getMessage());
    }

    @Test
    void externalDataIsRejectedClearly() {
        Proto t = new Proto().varint(1, 4).varint(2, OnnxTensor.FLOAT).string(8, "big")
                .message(13, new Proto().string(1, "location").string(2, "model.onnx.data")).varint(14, 1);
        var e = assertThrows(WeightFileException.class, () -> OnnxModel.read(Proto.model(new Proto().message(5, t)), SRC));
        assertTrue(e.getMessage().contains("'big'") && e.getMessage().contains("external data"), e.getMessage());
    }

    @Test
    void aProtobufWithoutAGraphIsNotAModel() {
        byte[] b = new Proto().varint(1, 8).string(2, "x").toByteArray();
        var e = assertThrows(WeightFileException.class, () -> OnnxModel.read(b, SRC));
        assertTrue(e.getMessage().contains("not an ONNX model: no graph"), e.getMessage());
    }
}
