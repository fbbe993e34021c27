package dev.loupe.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.FloatStorage;
import dev.loupe.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {
    @TempDir
    Path dir;

    @Test
    void aFolderOpensWhicheverHuggingFaceWeightFileItHolds() throws IOException {
        try (Checkpoint c = Checkpoints.open(Fixtures.path("hf_safetensors"))) {
            assertEquals("model.safetensors", c.path().getFileName().toString());
            Fixtures.assertMatches(Fixtures.expected("hf_safetensors/model.safetensors"), c);
        }
        try (Checkpoint c = Checkpoints.open(Fixtures.path("hf_bin"))) {
            assertEquals("pytorch_model.bin", c.path().getFileName().toString());
            Fixtures.assertMatches(Fixtures.expected("hf_bin/pytorch_model.bin"), c);
        }
    }

    @Test
    void safetensorsIsPreferredWhenAFolderHoldsBothFormats() throws IOException {
        Files.copy(Fixtures.path("hf_safetensors/model.safetensors"), dir.resolve("model.safetensors"));
        Files.copy(Fixtures.path("hf_bin/pytorch_model.bin"), dir.resolve("pytorch_model.bin"));
        try (Checkpoint c = Checkpoints.open(dir)) {
            assertEquals(dir.resolve("model.safetensors"), c.path());
        }
    }

    @Test
    void aFolderWithoutWeightsSaysWhatWasLookedFor() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Checkpoints.open(dir));
        assertTrue(e.getMessage().contains("no weights found: looked for model.safetensors, "
                + "model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> Checkpoints.open(dir.resolve("nope.safetensors")));
    }

    @Test
    void shardedCheckpointsServeEveryTensorFromItsShard() throws IOException {
        try (Checkpoint c = Checkpoints.open(Fixtures.path("hf_sharded"))) {
            assertEquals("model.safetensors.index.json", c.path().getFileName().toString());
            assertEquals(List.of("h.0.w", "h.0.b", "h.1.w"), List.copyOf(c.names()));
            assertEquals(Map.of("total_size", "42"), c.metadata());
            Fixtures.assertMatches(Fixtures.expected("hf_sharded"), c);
        }
    }

    @Test
    void aShardIndexCannotPointOutsideItsFolderOrAtMissingTensors() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("m"));
        Files.copy(Fixtures.path("hf_sharded/model-00001-of-00002.safetensors"), dir.resolve("outside.safetensors"));
        Files.writeString(sub.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"h.0.w\": \"../outside.safetensors\"}}");
        WeightFileException e = assertThrows(WeightFileException.class, () -> Checkpoints.open(sub));
        assertTrue(e.getMessage().contains("tensor 'h.0.w': shard ../outside.safetensors is not a plain file name"),
                e.getMessage());

        Files.copy(Fixtures.path("hf_sharded/model-00001-of-00002.safetensors"), sub.resolve("a.safetensors"));
        Files.writeString(sub.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"h.0.w\": \"a.safetensors\", \"h.9.w\": \"a.safetensors\"}}");
        e = assertThrows(WeightFileException.class, () -> Checkpoints.open(sub));
        assertTrue(e.getMessage().contains("tensor 'h.9.w': mapped to shard a.safetensors, which does not contain it"),
                e.getMessage());

        Files.writeString(sub.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"h.0.w\": \"b.safetensors\"}}");
        assertThrows(NoSuchFileException.class, () -> Checkpoints.open(sub));
    }

    @Test
    void loadCopiesAnyViewToContiguousHeapFloatsThatOutliveTheCheckpoint() throws IOException {
        Tensor w, wt, col, bf;
        try (Checkpoint c = Checkpoints.open(Fixtures.path("hf_bin"))) {
            w = c.load("attn.c_attn.weight");
            wt = c.load("attn.c_attn.weight_t");
            col = c.load("col1");
            bf = c.load("mlp.bf");
        }
        assertInstanceOf(FloatStorage.class, wt.storage());
        assertTrue(wt.isContiguous());
        assertArrayEquals(w.transpose(0, 1).toFloatArray(), wt.toFloatArray());
        assertArrayEquals(w.select(1, 1).toFloatArray(), col.toFloatArray());
        assertArrayEquals(new int[] {2, 3}, bf.shape());
    }
}
