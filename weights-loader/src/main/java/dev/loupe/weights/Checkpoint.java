package dev.loupe.weights;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Named weight tensors read from a checkpoint (safetensors, sharded safetensors, PyTorch {@code .bin}), whatever its
 * format. Open one with {@link Checkpoints#open(Path)}.
 *
 * <p>Tensors keep the shape and layout the file gives them, with the names the file uses: e.g. GPT-2's
 * {@code h.0.attn.c_attn.weight} is {@code [d_model, 3 * d_model]} (its Conv1D stores {@code [in, out]}), while a
 * {@code torch.nn.Linear} weight is {@code [out, in]}. Model code owns the mapping to its own layout.
 *
 * <p>Only float tensors (F32, F16, BF16) are served; others (e.g. BERT's I64 {@code position_ids} buffer) are listed
 * by {@link #skipped()} rather than widened to float, which would lose integers above 2^24.
 *
 * <p><b>Lifetime.</b> The checkpoint owns its memory mappings; {@link #close()} releases them, after which reading any
 * tensor it returned from {@link #get} throws {@link IllegalStateException}. Use {@link #load} for a tensor that must
 * outlive the checkpoint. <b>Thread safety:</b> after opening, every method except {@code close} may be called from
 * any thread; {@code close} must not race with reads.
 */
public interface Checkpoint extends AutoCloseable {
    /** The file (or index file) this checkpoint was opened from. */
    Path path();

    /** Names of the float tensors, in file order. */
    Set<String> names();

    /**
     * The tensor {@code name} as a read-only view over the mapped file, no copy: its storage is a
     * {@link dev.loupe.tensor.MappedStorage} of the file's dtype, widened to float32 as it is read. Views of one
     * storage (tied or transposed weights in a {@code .bin}) share the same storage object. Throws
     * {@link IllegalArgumentException} for a name not in {@link #names()}. Shape: {@link #shape(String)}, as the
     * file stores it (GPT-2's Conv1D weights are [in, out], {@code nn.Linear}'s [out, in]).
     */
    Tensor get(String name);

    /** The stored element type of {@code name}; throws {@link IllegalArgumentException} for an unknown name. */
    DType dtype(String name);

    /** The shape of {@code name} (a copy); throws {@link IllegalArgumentException} for an unknown name. */
    int[] shape(String name);

    /** Tensors present but not served because they are not float: name → description, e.g. {@code "I64 [1, 512]"}. */
    Map<String, String> skipped();

    /** Free-form string metadata the file carries (safetensors {@code __metadata__}); empty when none. */
    Map<String, String> metadata();

    /**
     * The tensor {@code name} copied into a new contiguous float32 heap tensor of the same shape, independent of
     * this checkpoint: what CPU kernels compute on.
     */
    default Tensor load(String name) {
        Tensor view = get(name);
        return Tensor.zeros(view.shape()).copyFrom(view); // the CPU copy widens any storage through Storage.read
    }

    /** Releases the mappings. Idempotent; never throws. */
    @Override
    void close();
}
