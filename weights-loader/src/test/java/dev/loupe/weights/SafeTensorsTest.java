package dev.loupe.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.MappedStorage;
import dev.loupe.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    private static final String FILE = "hf_safetensors/model.safetensors";

    @TempDir
    Path dir;

    @Test
    void readsEveryFloatTensorAsTorchDoesAndSkipsIntegerBuffers() throws IOException {
        try (Checkpoint c = SafeTensors.open(Fixtures.path(FILE))) {
            Fixtures.assertMatches(Fixtures.expected(FILE), c);
            assertEquals(List.of("wte.weight", "ln.bias", "mlp.weight", "scale", "empty"), List.copyOf(c.names()));
            assertEquals(Map.of("position_ids", "I64 [1, 6]"), c.skipped());
            assertEquals(Map.of("format", "pt", "note", "fixture"), c.metadata());
        }
    }

    @Test
    void tensorsAreViewsOverTheMappingNotHeapCopies() throws IOException {
        try (Checkpoint c = SafeTensors.open(Fixtures.path(FILE))) {
            Tensor w = c.get("wte.weight");
            assertInstanceOf(MappedStorage.class, w.storage());
            assertEquals(20, w.storage().size());
            assertEquals(0, c.get("scale").rank());
        }
    }

    @Test
    void viewsFailLoudlyOnceTheCheckpointIsClosedButLoadedCopiesSurvive() throws IOException {
        Checkpoint c = SafeTensors.open(Fixtures.path(FILE));
        Tensor view = c.get("wte.weight"), copy = c.load("wte.weight");
        float first = view.get(0, 0);
        c.close();
        c.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> view.get(0, 0));
        assertEquals(first, copy.get(0, 0));
    }

    @Test
    void unknownAndNonFloatNamesAreReportedClearly() throws IOException {
        try (Checkpoint c = SafeTensors.open(Fixtures.path(FILE))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.get("wte.weights"));
            assertTrue(e.getMessage().contains("no tensor 'wte.weights'"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> c.get("position_ids"));
            assertTrue(e.getMessage().contains("I64 [1, 6], not a float tensor"), e.getMessage());
        }
    }

    @Test
    void everyTruncationOfAValidFileIsAWeightFileException() throws IOException {
        byte[] full = Fixtures.bytes(FILE);
        for (int len = 0; len < full.length; len++) {
            Path f = write(Arrays.copyOf(full, len));
            WeightFileException e = assertThrows(WeightFileException.class, () -> SafeTensors.open(f).close(),
                    "prefix of " + len + " bytes");
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        }
    }

    @Test
    void headerLengthBeyondTheFileOrTheLimitIsRejected() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).putLong(0);
        assertFault(b.array(), "header length 18446744073709551615 is not plausible");
        b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(9).putLong(0);
        assertFault(b.array(), "header length 9 is not plausible");
    }

    @Test
    void inconsistentHeadersNameTheTensorAndTheFault() throws IOException {
        byte[] eight = new byte[8];
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight),
                "tensor 'a': data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12");
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", eight),
                "tensor 'a': data_offsets [0, 16] fall outside the 8-byte data buffer");
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", eight),
                "tensor 'b': data_offsets [4, 8] overlap tensor 'a' [0, 8]");
        assertFault(file("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                "tensor 'a': unknown dtype Q4");
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight),
                "tensor 'a': shape holds -2, not a non-negative integer");
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", eight),
                "data_offsets [8, 0] fall outside");
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight),
                "tensor 'a': data_offsets is missing or not a list of 2 integers");
        assertFault(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}", eight), "overflows");
        assertFault(file("{\"a\":1,\"a\":2}", eight), "header is not valid JSON: duplicate key \"a\"");
        assertFault(file("[1]", eight), "header is not a JSON object");
        assertFault(file("{\"__metadata__\":{\"k\":1}}", eight), "__metadata__ value for 'k' is not a string");
    }

    @Test
    void headerThatIsNotUtf8IsRejected() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3, '"', ':', '1', '}', ' '};
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(8).put(header);
        assertFault(b.array(), "header is not valid UTF-8");
    }

    @Test
    void gapsBetweenTensorsAndTrailingPaddingAreTolerated() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(9f).putFloat(2f);
        Path f = write(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}   ", data.array()));
        try (Checkpoint c = SafeTensors.open(f)) {
            assertEquals(1f, c.get("x").item());
            assertEquals(2f, c.get("y").item());
        }
    }

    private void assertFault(byte[] bytes, String expectedFragment) throws IOException {
        Path f = write(bytes);
        WeightFileException e = assertThrows(WeightFileException.class, () -> SafeTensors.open(f).close());
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedFragment), e.getMessage());
    }

    private static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }

    private Path write(byte[] bytes) throws IOException {
        Path f = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(f, bytes);
        return f;
    }
}
