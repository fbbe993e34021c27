package dev.loupe.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsWriteTest {
    @TempDir
    Path dir;

    @Test
    void twoTensorFileMatchesTheFormatByteForByte() throws IOException {
        // Same tensors as make_write_fixture.py; "a" is a transposed view, so the writer must follow strides.
        float[] a = new float[6];
        for (int i = 0; i < 6; i++) a[i] = i * 0.5f - 1f;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.of(a, 3, 2).transpose(0, 1));
        tensors.put("b.bias", Tensor.of(new float[] {1.5f, -2.25f}, 2, 1));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "two tensors");
        Path f = dir.resolve("w.safetensors");
        SafeTensors.write(f, tensors, meta);
        assertArrayEquals(Fixtures.bytes("written.safetensors"), Files.readAllBytes(f));
    }

    @Test
    void anyLayoutRoundTripsExactlyThroughOpen() throws IOException {
        Rng rng = new Rng(7);
        Tensor base = Tensor.randn(rng, 4, 5, 6);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("contiguous", base);
        tensors.put("permuted", base.permute(2, 0, 1));
        tensors.put("narrowed", base.narrow(1, 1, 3).select(2, 4));
        tensors.put("expanded", Tensor.randn(rng, 3, 1).expand(3, 4)); // stride 0
        tensors.put("scalar", Tensor.scalar(-0.125f));
        tensors.put("empty", Tensor.zeros(0, 3));
        tensors.put("big", Tensor.randn(rng, 70_001)); // more than one write chunk
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, tensors, Map.of("k", "v"));
        try (Checkpoint c = SafeTensors.open(f)) {
            assertEquals(List.copyOf(tensors.keySet()), List.copyOf(c.names()));
            assertEquals(Map.of("k", "v"), c.metadata());
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                assertArrayEquals(e.getValue().shape(), c.shape(e.getKey()), e.getKey());
                assertArrayEquals(e.getValue().toFloatArray(), c.load(e.getKey()).toFloatArray(), e.getKey());
            }
        }
    }

    @Test
    void dataStartsEightAlignedAndNoMetadataMeansNoMetadataEntry() throws IOException {
        Path f = dir.resolve("x.safetensors");
        SafeTensors.write(f, Map.of("abc", Tensor.ones(3)), Map.of());
        byte[] bytes = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        assertEquals(8 + n + 12, bytes.length);
        String header = new String(bytes, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("{\"abc\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", header.stripTrailing());
    }

    @Test
    void overwritesAtomicallyAndLeavesNoTemporaryFiles() throws IOException {
        Path f = dir.resolve("y.safetensors");
        SafeTensors.write(f, Map.of("t", Tensor.ones(2)), Map.of());
        SafeTensors.write(f, Map.of("t", Tensor.full(3f, 4)), Map.of());
        try (Checkpoint c = SafeTensors.open(f)) {
            assertArrayEquals(new float[] {3, 3, 3, 3}, c.load("t").toFloatArray());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f.getFileName().toString()), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void failedWriteKeepsTheOldFileAndCleansUp() throws IOException {
        Path f = dir.resolve("z.safetensors");
        SafeTensors.write(f, Map.of("t", Tensor.ones(2)), Map.of());
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("__metadata__", Tensor.ones(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.write(f, bad, Map.of()));
        assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void aBodyThatFailsMidWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path f = dir.resolve("w.safetensors");
        SafeTensors.write(f, Map.of("t", Tensor.ones(3)), Map.of());
        byte[] before = Files.readAllBytes(f);
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f.getFileName().toString()), files.map(p -> p.getFileName().toString()).toList());
        }
    }
}
