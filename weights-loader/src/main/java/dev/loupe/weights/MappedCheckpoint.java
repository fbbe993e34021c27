package dev.loupe.weights;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.Storage;
import dev.loupe.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@link Checkpoint} over one mapped file whose tensors were all found and validated when it was opened: the
 * readers ({@link SafeTensors}, {@link TorchBin}) build one only after the whole file checked out.
 */
final class MappedCheckpoint implements Checkpoint {
    /** Geometry of one tensor over its storage; validated against the storage's size by the reader. */
    record View(Storage storage, int[] shape, int[] strides, int offset) {}

    private final MappedFile file;
    private final Map<String, View> tensors;
    private final Map<String, String> skipped;
    private final Map<String, String> metadata;

    MappedCheckpoint(MappedFile file, Map<String, View> tensors, Map<String, String> skipped,
            Map<String, String> metadata) {
        this.file = file;
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.skipped = Collections.unmodifiableMap(new LinkedHashMap<>(skipped));
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    @Override
    public Path path() {
        return file.path();
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public Tensor get(String name) {
        View v = view(name);
        return Tensor.fromStorage(v.storage(), v.shape(), v.strides(), v.offset());
    }

    @Override
    public DType dtype(String name) {
        return view(name).storage().dtype();
    }

    @Override
    public int[] shape(String name) {
        return view(name).shape().clone();
    }

    @Override
    public Map<String, String> skipped() {
        return skipped;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        file.close();
    }

    private View view(String name) {
        View v = tensors.get(name);
        if (v == null) throw unknown(path(), name, names(), skipped);
        return v;
    }

    /** The error for a name a checkpoint does not serve, saying why when the tensor exists but is not float. */
    static IllegalArgumentException unknown(Path path, String name, Set<String> names, Map<String, String> skipped) {
        if (skipped.containsKey(name)) {
            return new IllegalArgumentException(path + ": tensor '" + name + "' is " + skipped.get(name)
                    + ", not a float tensor (F32, F16, BF16)");
        }
        String close = names.stream().filter(n -> n.endsWith(lastPart(name)) || name.endsWith(lastPart(n)))
                .limit(5).toList().toString();
        return new IllegalArgumentException(path + ": no tensor '" + name + "' among " + names.size()
                + " tensors; names ending alike: " + close);
    }

    private static String lastPart(String name) {
        int dot = name.lastIndexOf('.', name.lastIndexOf('.') - 1);
        return dot < 0 ? name : name.substring(dot);
    }

    static String describe(String dtype, long[] shape) {
        return dtype + " " + Arrays.toString(shape);
    }
}
