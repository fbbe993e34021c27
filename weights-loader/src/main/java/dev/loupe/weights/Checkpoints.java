package dev.loupe.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** Opens the weights of a Hugging Face model folder, or one weight file, whatever its format. */
public final class Checkpoints {
    /** The files looked for in a model folder, in order of preference (safetensors first: no pickle at all). */
    public static final List<String> WEIGHT_FILES = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");

    private Checkpoints() {}

    /**
     * Opens {@code path}: a folder (the first of {@link #WEIGHT_FILES} present in it), or a file chosen by its name
     * ({@code *.safetensors}, {@code *.index.json} for shards, anything else as a PyTorch zip checkpoint). Throws
     * {@link NoSuchFileException} listing the names looked for when a folder holds none of them, and
     * {@link WeightFileException} for a malformed file. The caller closes the result.
     */
    public static Checkpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            for (String name : WEIGHT_FILES) {
                Path f = path.resolve(name);
                if (Files.isRegularFile(f)) return openFile(f);
            }
            throw new NoSuchFileException(path.toString(), null,
                    "no weights found: looked for " + String.join(", ", WEIGHT_FILES));
        }
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        return openFile(path);
    }

    private static Checkpoint openFile(Path f) throws IOException {
        String name = f.getFileName().toString();
        if (name.endsWith(".index.json")) {
            return ShardedCheckpoint.open(f, name.contains(".safetensors") ? SafeTensors::open : TorchBin::open);
        }
        if (name.endsWith(".safetensors")) return SafeTensors.open(f);
        return TorchBin.open(f);
    }
}
