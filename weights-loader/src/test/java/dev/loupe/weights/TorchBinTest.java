package dev.loupe.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.MappedStorage;
import dev.loupe.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchBinTest {
    private static final String FILE = "hf_bin/pytorch_model.bin";

    @TempDir
    Path dir;

    @Test
    void readsEveryTensorOfATorchSaveArchiveAsTorchDoes() throws IOException {
        try (Checkpoint c = TorchBin.open(Fixtures.path(FILE))) {
            Fixtures.assertMatches(Fixtures.expected(FILE), c);
            assertEquals(Map.of("position_ids", "LongStorage [1, 4]"), c.skipped());
        }
    }

    @Test
    void viewsKeepThePickledStridesAndOffsetsOverOneSharedMappedStorage() throws IOException {
        try (Checkpoint c = TorchBin.open(Fixtures.path(FILE))) {
            Tensor w = c.get("attn.c_attn.weight"), wt = c.get("attn.c_attn.weight_t");
            Tensor row2 = c.get("row2"), col1 = c.get("col1");
            assertInstanceOf(MappedStorage.class, w.storage());
            assertSame(w.storage(), wt.storage());
            assertSame(w.storage(), row2.storage());
            assertArrayEquals(new int[] {1, 4}, wt.strides());
            assertEquals(8, row2.offset());
            assertEquals(1, col1.offset());
            assertArrayEquals(new int[] {4}, col1.strides());
            assertEquals(w.get(1, 2), wt.get(2, 1));
            assertEquals(w.get(2, 3), row2.get(3));
            assertEquals(w.get(2, 1), col1.get(2));
        }
    }

    @Test
    void tiedWeightsShareOneStorageAndDistinctTensorsDoNot() throws IOException {
        try (Checkpoint c = TorchBin.open(Fixtures.path(FILE))) {
            assertSame(c.get("wte.weight").storage(), c.get("lm_head.weight").storage());
            assertNotSame(c.get("wte.weight").storage(), c.get("attn.c_attn.weight").storage());
        }
    }

    @Test
    void aDeflatedArchiveReadsTheSameValues() throws IOException {
        try (Checkpoint c = TorchBin.open(Fixtures.path("deflated.bin"))) {
            Fixtures.assertMatches(Fixtures.expected(FILE), c);
        }
    }

    @Test
    void picklesThatReachForOtherGlobalsAreRefusedBeforeAnythingRuns() {
        WeightFileException e = assertThrows(WeightFileException.class,
                () -> TorchBin.open(Fixtures.path("hostile_os_system.bin")));
        assertTrue(e.getMessage().contains("refuses to load global posix.system: pytorch .bin files may only "
                + "rebuild tensors"), e.getMessage());
        e = assertThrows(WeightFileException.class, () -> TorchBin.open(Fixtures.path("hostile_eval_proto4.bin")));
        assertTrue(e.getMessage().contains("refuses to load global builtins.eval"), e.getMessage());
    }

    @Test
    void handCraftedOsSystemPickleIsRefused() {
        // protocol 2: GLOBAL 'os system', BINUNICODE 'echo pwned', TUPLE1, REDUCE, STOP
        byte[] pkl = concat(new byte[] {(byte) 0x80, 2}, ascii("cos\nsystem\n"), new byte[] {'X', 10, 0, 0, 0},
                ascii("echo pwned"), new byte[] {(byte) 0x85, 'R', '.'});
        WeightFileException e = assertThrows(WeightFileException.class,
                () -> new RestrictedUnpickler(pkl, Path.of("x.bin"), "archive/data.pkl").load());
        assertEquals("x.bin: archive/data.pkl at byte 2: refuses to load global os.system: pytorch .bin files may "
                + "only rebuild tensors", e.getMessage());
    }

    @Test
    void allowListedNamesCannotBeAbusedEither() {
        // STACK_GLOBAL subprocess.Popen
        byte[] stackGlobal = concat(new byte[] {(byte) 0x80, 4, (byte) 0x8c, 10}, ascii("subprocess"),
                new byte[] {(byte) 0x8c, 5}, ascii("Popen"), new byte[] {(byte) 0x93, '.'});
        assertRefused(stackGlobal, "refuses to load global subprocess.Popen");
        // calling a storage type (allowed as a name, never as a function)
        byte[] callStorage = concat(new byte[] {(byte) 0x80, 2}, ascii("ctorch\nFloatStorage\n"),
                new byte[] {')', 'R', '.'});
        assertRefused(callStorage, "refuses to call torch.FloatStorage");
        // opcodes outside the data subset: INST and OBJ build arbitrary objects
        assertRefused(new byte[] {(byte) 0x80, 2, 'i'}, "unsupported pickle opcode 0x69");
        assertRefused(new byte[] {(byte) 0x80, 2, 'o'}, "unsupported pickle opcode 0x6f");
        assertRefused(new byte[] {(byte) 0x80, 2, 'h', 7}, "memo key 7 was never stored");
        assertRefused(new byte[] {(byte) 0x80, 2, 'X', (byte) 0xFF, (byte) 0xFF, 0, 0}, "truncated");
        assertRefused(new byte[] {(byte) 0x80, 2, ']', 'N'}, "truncated");
        assertRefused(new byte[] {(byte) 0x80, 2, 's'}, "stack underflow");
    }

    @Test
    void legacyNonZipFormatIsReportedAsSuch() {
        WeightFileException e = assertThrows(WeightFileException.class, () -> TorchBin.open(Fixtures.path("legacy.bin")));
        assertTrue(e.getMessage().contains("legacy torch.save format (PyTorch < 1.6) is not supported"), e.getMessage());
    }

    @Test
    void everyTruncationOfTheArchiveIsAWeightFileException() throws IOException {
        byte[] full = Fixtures.bytes(FILE);
        for (int len = 0; len < full.length; len++) {
            Path f = dir.resolve("cut" + len + ".bin");
            Files.write(f, Arrays.copyOf(full, len));
            assertThrows(WeightFileException.class, () -> TorchBin.open(f).close(), "prefix of " + len + " bytes");
        }
    }

    @Test
    void aTruncatedPickleOrStorageInsideAValidZipIsAWeightFileException() throws IOException {
        Map<String, byte[]> entries = entries(Fixtures.path(FILE));
        String pkl = "pytorch_model/data.pkl", storage = "pytorch_model/data/0";

        Map<String, byte[]> cutPickle = new LinkedHashMap<>(entries);
        cutPickle.put(pkl, Arrays.copyOf(entries.get(pkl), entries.get(pkl).length / 2));
        WeightFileException e = assertThrows(WeightFileException.class, () -> TorchBin.open(zip(cutPickle)));
        assertTrue(e.getMessage().contains("data.pkl at byte"), e.getMessage());

        Map<String, byte[]> cutStorage = new LinkedHashMap<>(entries);
        cutStorage.put(storage, Arrays.copyOf(entries.get(storage), 40));
        e = assertThrows(WeightFileException.class, () -> TorchBin.open(zip(cutStorage)));
        assertTrue(e.getMessage().contains("tensor 'attn.c_attn.weight': storage pytorch_model/data/0 holds 40 bytes "
                + "but the pickle declares 12 FloatStorage elements"), e.getMessage());

        Map<String, byte[]> noStorage = new LinkedHashMap<>(entries);
        noStorage.remove(storage);
        e = assertThrows(WeightFileException.class, () -> TorchBin.open(zip(noStorage)));
        assertTrue(e.getMessage().contains("storage entry pytorch_model/data/0 is missing"), e.getMessage());
    }

    private void assertRefused(byte[] pkl, String fragment) {
        WeightFileException e = assertThrows(WeightFileException.class,
                () -> new RestrictedUnpickler(pkl, Path.of("x.bin"), "data.pkl").load());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private static Map<String, byte[]> entries(Path file) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(file.toFile())) {
            for (Enumeration<? extends ZipEntry> en = z.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                out.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        return out;
    }

    private Path zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        Path f = Files.createTempFile(dir, "z", ".bin");
        Files.write(f, bytes.toByteArray());
        return f;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static void assertArrayEquals(int[] expected, int[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }
}
