package dev.loupe.weights;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.MappedStorage;
import dev.loupe.weights.RestrictedUnpickler.StorageRef;
import dev.loupe.weights.RestrictedUnpickler.TensorRef;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a PyTorch checkpoint written by {@code torch.save} (PyTorch 1.6 or later, e.g. {@code pytorch_model.bin}):
 * a zip holding {@code <top>/data.pkl}, a pickled state dict, and one entry {@code <top>/data/<key>} per storage
 * (the top folder's name varies with the file name it was saved under).
 *
 * <p>The pickle is interpreted by {@link RestrictedUnpickler}, which executes nothing and refuses globals other than
 * those that rebuild tensors. Each storage entry is memory-mapped where it lies in the archive when it is STORED
 * (what torch writes), so tensors cost no heap; a DEFLATED entry (a re-zipped file) is inflated to the heap. Tensors
 * are views with the pickled size, stride and storage offset, so tied and transposed weights share one storage.
 * Nested dicts are flattened with {@code "."}; non-tensor values are ignored.
 *
 * <p>Not supported (clear error): the legacy pre-1.6 format (a bare pickle stream), big-endian archives.
 */
public final class TorchBin {
    private TorchBin() {}

    /**
     * Maps and validates {@code file}; throws {@link WeightFileException} for anything malformed or hostile, having
     * released the mapping. The caller closes the result.
     */
    public static Checkpoint open(Path file) throws IOException {
        return MappedFile.read(file, TorchBin::read);
    }

    private static Checkpoint read(MappedFile mf) throws WeightFileException {
        Path file = mf.path();
        if (mf.size() >= 4 && mf.u32(0, "magic") != 0x04034b50L) {
            throw new WeightFileException(file, mf.u16(0, "magic") == 0x0280 || mf.u16(0, "magic") == 0x0a80
                    ? "legacy torch.save format (PyTorch < 1.6) is not supported; re-save with a newer PyTorch or "
                            + "convert to safetensors"
                    : "not a zip archive, so not a PyTorch checkpoint");
        }
        ZipDirectory zip = ZipDirectory.read(mf);
        String top = topFolder(file, zip);
        ZipDirectory.Entry byteorder = zip.entries().get(top + "/byteorder");
        if (byteorder != null) {
            String order = new String(zip.heapBytes(byteorder), StandardCharsets.US_ASCII).strip();
            if (!order.equals("little")) throw new WeightFileException(file, "byte order '" + order + "' not supported");
        }
        String pklName = top + "/data.pkl";
        Object root = new RestrictedUnpickler(zip.heapBytes(zip.entries().get(pklName)), file, pklName).load();
        if (!(root instanceof Map<?, ?> dict)) {
            throw new WeightFileException(file, "data.pkl holds a " + root.getClass().getSimpleName()
                    + ", not a state dict");
        }
        Map<String, TensorRef> refs = new LinkedHashMap<>();
        flatten(file, "", dict, refs);

        Map<String, MappedStorage> storages = new HashMap<>(); // one per key: views of one storage share it
        Map<String, MappedCheckpoint.View> views = new LinkedHashMap<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
            String name = e.getKey();
            TensorRef t = e.getValue();
            DType dtype = floatType(t.storage().type());
            if (dtype == null) {
                skipped.put(name, MappedCheckpoint.describe(t.storage().type(), t.size()));
                checkStorage(file, zip, top, name, t.storage()); // still validated: a lie is an error
                continue;
            }
            MappedStorage s = storages.get(t.storage().key());
            if (s == null) {
                s = new MappedStorage(checkStorage(file, zip, top, name, t.storage()), dtype);
                storages.put(t.storage().key(), s);
            } else if (s.dtype() != dtype || s.size() != t.storage().numel()) {
                throw new WeightFileException(file, name, "storage " + t.storage().key()
                        + " is referenced with two different types or sizes");
            }
            views.put(name, view(file, name, t, s));
        }
        return new MappedCheckpoint(mf, views, skipped, Map.of());
    }

    /** The one folder holding {@code data.pkl}. */
    private static String topFolder(Path file, ZipDirectory zip) throws WeightFileException {
        List<String> pkls = zip.entries().keySet().stream()
                .filter(n -> n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length())
                .toList();
        if (pkls.size() != 1) {
            throw new WeightFileException(file, "expected one <folder>/data.pkl in the archive but found " + pkls);
        }
        return pkls.get(0).substring(0, pkls.get(0).length() - "/data.pkl".length());
    }

    private static void flatten(Path file, String prefix, Map<?, ?> dict, Map<String, TensorRef> out)
            throws WeightFileException {
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String key)) continue; // torch state dicts key by name; others are not ours
            String name = prefix + key;
            if (e.getValue() instanceof TensorRef t) {
                if (out.put(name, t) != null) throw new WeightFileException(file, name, "appears twice");
            } else if (e.getValue() instanceof Map<?, ?> sub) {
                flatten(file, name + ".", sub, out);
            }
        }
    }

    /** The bytes of a storage entry, checked to hold exactly {@code numel} elements of its type. */
    private static MemorySegment checkStorage(Path file, ZipDirectory zip, String top, String tensor, StorageRef s)
            throws WeightFileException {
        if (s.key().isEmpty() || s.key().contains("/")) {
            throw new WeightFileException(file, tensor, "storage key '" + s.key() + "' is not a plain name");
        }
        String entryName = top + "/data/" + s.key();
        ZipDirectory.Entry entry = zip.entries().get(entryName);
        if (entry == null) throw new WeightFileException(file, tensor, "storage entry " + entryName + " is missing");
        long width = RestrictedUnpickler.STORAGE_TYPES.get(s.type());
        if (s.numel() > Long.MAX_VALUE / width || entry.size() != s.numel() * width) {
            throw new WeightFileException(file, tensor, "storage " + entryName + " holds " + entry.size()
                    + " bytes but the pickle declares " + s.numel() + " " + s.type() + " elements");
        }
        return zip.bytes(entry);
    }

    private static MappedCheckpoint.View view(Path file, String name, TensorRef t, MappedStorage s)
            throws WeightFileException {
        long[] size = t.size(), stride = t.stride();
        if (size.length != stride.length) {
            throw new WeightFileException(file, name, "size " + Arrays.toString(size) + " and stride "
                    + Arrays.toString(stride) + " differ in rank");
        }
        int[] shape = new int[size.length], strides = new int[size.length];
        long last = t.offset(), numel = 1;
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || size[i] > Integer.MAX_VALUE || stride[i] < 0 || stride[i] > Integer.MAX_VALUE) {
                throw new WeightFileException(file, name, "size " + Arrays.toString(size) + " / stride "
                        + Arrays.toString(stride) + " out of range");
            }
            shape[i] = (int) size[i];
            strides[i] = (int) stride[i];
            numel *= size[i];
            if (numel > Integer.MAX_VALUE) {
                throw new WeightFileException(file, name, "more than 2^31 - 1 elements, the most a Loupe tensor holds");
            }
            if (size[i] > 0) last += (size[i] - 1) * stride[i];
        }
        if (t.offset() < 0 || t.offset() > Integer.MAX_VALUE || (numel > 0 ? last >= s.size() : t.offset() > s.size())) {
            throw new WeightFileException(file, name, "view of size " + Arrays.toString(size) + ", stride "
                    + Arrays.toString(stride) + " at offset " + t.offset() + " reads past its storage of " + s.size()
                    + " elements");
        }
        return new MappedCheckpoint.View(s, shape, strides, (int) t.offset());
    }

    private static DType floatType(String storageType) {
        return switch (storageType) {
            case "FloatStorage" -> DType.F32;
            case "HalfStorage" -> DType.F16;
            case "BFloat16Storage" -> DType.BF16;
            default -> null;
        };
    }
}
