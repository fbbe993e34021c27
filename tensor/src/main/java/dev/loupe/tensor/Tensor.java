package dev.loupe.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * An n-dimensional float32 array: a view (shape, strides, offset) onto a {@link Storage}, plus the autodiff state
 * that lets it take part in {@link #backward()}.
 *
 * <p>Ops never modify their operands; they return new tensors (views share storage with their base). When gradient
 * recording is on ({@link Autograd#noGrad()} switches it off) and an operand requires a gradient, the result records
 * how to push its gradient back. Shapes in Javadoc use named dims, e.g. {@code [batch, pos, d_model]}; an op that
 * does not name dims keeps its operand's shape. Every shape mismatch throws {@link IllegalArgumentException} naming
 * the op and the shapes.
 *
 * <p>Index operands ({@link #indexSelect}, {@link #gather}, {@link #embedding} ...) are float32 tensors holding whole
 * numbers, exact up to 2^24; build them with {@link #indices(int...)}.
 *
 * <p>Not thread-safe for autodiff state; the data of a tensor nobody writes to may be read from any thread.
 */
public final class Tensor {
    private final Storage storage;
    private final int[] shape;
    private final int[] strides;
    private final int offset;

    private boolean requiresGrad;
    private GradNode gradNode;
    private Tensor grad;
    private boolean retainGrad;
    private List<UnaryOperator<Tensor>> gradHooks = List.of();

    Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---------------------------------------------------------------- creation

    /**
     * A view of {@code storage} with the given geometry, without copying (for weight loaders and backends).
     * Throws when the view would read outside the storage or has a negative stride.
     */
    public static Tensor fromStorage(Storage storage, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length) {
            throw new IllegalArgumentException("fromStorage: shape " + Shapes.format(shape) + " and strides "
                    + Arrays.toString(strides) + " differ in rank");
        }
        long last = offset;
        for (int i = 0; i < shape.length; i++) {
            if (strides[i] < 0) throw new IllegalArgumentException("fromStorage: negative stride " + strides[i]);
            if (shape[i] > 0) last += (long) (shape[i] - 1) * strides[i];
        }
        boolean empty = Shapes.numel(shape) == 0; // reads nothing, so any offset within [0, size] will do
        if (offset < 0 || (empty ? offset > storage.size() : last >= storage.size())) {
            throw new IllegalArgumentException("fromStorage: view " + Shapes.format(shape) + " at offset " + offset
                    + " reads past a storage of " + storage.size() + " elements");
        }
        return new Tensor(storage, shape.clone(), strides.clone(), offset);
    }

    /** A contiguous tensor of the given shape on the CPU, zero-filled. */
    public static Tensor zeros(int... shape) {
        return new Tensor(new FloatStorage(Shapes.numel(shape)), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /** A contiguous tensor of the given shape on {@code device}, zero-filled. */
    public static Tensor zeros(Device device, int... shape) {
        return OpSupport.alloc(Backends.of(device), shape);
    }

    /** A contiguous tensor on the CPU filled with ones. */
    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    /** A contiguous tensor on {@code device} filled with ones. */
    public static Tensor ones(Device device, int... shape) {
        return full(1f, device, shape);
    }

    /** A contiguous tensor on the CPU filled with {@code value}. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        if (value != 0f) Arrays.fill(((FloatStorage) t.storage).array(), value);
        return t;
    }

    /** A contiguous tensor on {@code device} filled with {@code value}. */
    public static Tensor full(float value, Device device, int... shape) {
        if (device.equals(Device.CPU)) return full(value, shape);
        Tensor t = zeros(device, shape);
        if (value != 0f) t.backend().fill(t, value);
        return t;
    }

    /** A 0-dimensional tensor (shape []) on the CPU holding {@code value}. */
    public static Tensor scalar(float value) {
        return full(value, new int[0]);
    }

    /**
     * A 0-dimensional tensor (shape []) on {@code device} holding {@code value}: how an op makes the constants it
     * combines with a tensor, since every operand of an op must be on that tensor's device.
     */
    public static Tensor scalar(float value, Device device) {
        return full(value, device, new int[0]);
    }

    /** {@code [0, 1, ..., end - 1]}, shape [end]. */
    public static Tensor arange(int end) {
        return arange(0, end, 1);
    }

    /** {@code start, start + step, ...} up to but excluding {@code end}; shape [ceil((end - start) / step)]. */
    public static Tensor arange(float start, float end, float step) {
        if (step == 0 || Float.isNaN(step)) throw new IllegalArgumentException("arange: step must be non-zero");
        int n = (int) Math.max(0, Math.ceil((end - start) / (double) step));
        float[] data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float) (start + (double) i * step);
        return wrap(data, n);
    }

    /** Uniform in [0, 1) from the given generator. */
    public static Tensor rand(Rng rng, int... shape) {
        float[] data = new float[Shapes.numel(shape)];
        for (int i = 0; i < data.length; i++) data[i] = rng.nextFloat();
        return wrap(data, shape);
    }

    /** Standard normal from the given generator. */
    public static Tensor randn(Rng rng, int... shape) {
        float[] data = new float[Shapes.numel(shape)];
        for (int i = 0; i < data.length; i++) data[i] = (float) rng.nextGaussian();
        return wrap(data, shape);
    }

    /** A copy of {@code data} (row-major) viewed as {@code shape}; a scalar when {@code shape} is empty. */
    public static Tensor of(float[] data, int... shape) {
        return wrap(data.clone(), shape);
    }

    /** A copy of {@code rows} as a tensor of shape [rows, cols]; rows must all have the same length. */
    public static Tensor of(float[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] data = new float[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != cols) {
                throw new IllegalArgumentException("of: row " + i + " has " + rows[i].length + " columns, not " + cols);
            }
            System.arraycopy(rows[i], 0, data, i * cols, cols);
        }
        return wrap(data, rows.length, cols);
    }

    /** {@code data} itself (not copied; later writes to it show through) viewed as {@code shape}. */
    public static Tensor wrap(float[] data, int... shape) {
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException("wrap: " + data.length + " values cannot fill shape "
                    + Shapes.format(shape));
        }
        return new Tensor(new FloatStorage(data), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /** An index tensor [n] holding {@code ids}. */
    public static Tensor indices(int... ids) {
        float[] data = new float[ids.length];
        for (int i = 0; i < ids.length; i++) data[i] = ids[i];
        return wrap(data, ids.length);
    }

    /** An index tensor [rows, cols] holding {@code ids}; rows must all have the same length. */
    public static Tensor indices(int[][] ids) {
        int cols = ids.length == 0 ? 0 : ids[0].length;
        float[] data = new float[ids.length * cols];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i].length != cols) {
                throw new IllegalArgumentException("indices: row " + i + " has " + ids[i].length + " ids, not " + cols);
            }
            for (int j = 0; j < cols; j++) data[i * cols + j] = ids[i][j];
        }
        return wrap(data, ids.length, cols);
    }

    // ---------------------------------------------------------------- geometry and data access

    /** The shape (a copy). */
    public int[] shape() {
        return shape.clone();
    }

    /** Size of {@code dim} (negative counts from the end). */
    public int size(int dim) {
        return shape[Shapes.dim("size", dim, shape.length)];
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public int numel() {
        return Shapes.numel(shape);
    }

    /** Strides in elements (a copy). */
    public int[] strides() {
        return strides.clone();
    }

    /** Offset of element [0, ..., 0] in the storage. */
    public int offset() {
        return offset;
    }

    /** The storage this tensor views. */
    public Storage storage() {
        return storage;
    }

    /** The device of the storage. */
    public Device device() {
        return storage.device();
    }

    /**
     * A copy of this tensor on {@code device} (contiguous, same shape), or this tensor itself when it is already
     * there. Differentiable: the gradient of the copy is moved back to this tensor's device. Goes through the host
     * ({@link Storage#read}, then {@link Storage#write} into storage the target's {@link Backend} allocates), so it is
     * a synchronous transfer, meant for inputs, weights and results rather than for inner loops.
     *
     * @throws IllegalStateException if no backend serves {@code device}
     */
    public Tensor to(Device device) {
        Device from = device();
        if (device.equals(from)) return this;
        Backend target = Backends.of(device);
        float[] data = detach().toFloatArray();
        Storage s = target.allocate(data.length);
        s.write(0, data, 0, data.length);
        Tensor out = new Tensor(s, shape.clone(), Shapes.contiguousStrides(shape), 0);
        return Autograd.record(out, "to", g -> new Tensor[] {g.to(from)}, this);
    }

    /** The backend that computes on this tensor's device. */
    public Backend backend() {
        return Backends.of(storage.device());
    }

    /** True when the elements lie row-major and gapless from {@link #offset()}. */
    public boolean isContiguous() {
        if (numel() == 0) return true;
        int expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** The element at {@code index} (one coordinate per dim, negative counts from the end). */
    public float get(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("get: " + index.length + " coordinates for a tensor of shape "
                    + Shapes.format(shape));
        }
        long pos = offset;
        for (int i = 0; i < index.length; i++) {
            int k = index[i] < 0 ? index[i] + shape[i] : index[i];
            if (k < 0 || k >= shape[i]) {
                throw new IndexOutOfBoundsException("get: index " + index[i] + " out of range for dim " + i
                        + " of size " + shape[i]);
            }
            pos += (long) k * strides[i];
        }
        return storage.get(pos);
    }

    /** The single element of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor of shape " + Shapes.format(shape)
                + " has " + numel() + " elements, not 1");
        return get(new int[shape.length]);
    }

    /** The elements in row-major order, as a new array. */
    public float[] toFloatArray() {
        Tensor c = contiguous();
        float[] out = new float[c.numel()];
        c.storage.read(c.offset, out, 0, out.length);
        return out;
    }

    // ---------------------------------------------------------------- autodiff

    /** Whether gradients flow to or through this tensor. */
    public boolean requiresGrad() {
        return requiresGrad || gradNode != null;
    }

    /**
     * Marks this leaf as a parameter (or input) whose gradient {@link #backward()} accumulates into {@link #grad()}.
     * Returns {@code this}. Throws for a non-leaf, whose flag follows from its inputs.
     */
    public Tensor setRequiresGrad(boolean value) {
        if (gradNode != null) throw new IllegalStateException("setRequiresGrad: only leaves take the flag; this "
                + "tensor was made by '" + gradNode.op + "' (use detach() for a new leaf)");
        requiresGrad = value;
        return this;
    }

    /** True for tensors made by no recorded op (parameters, inputs, constants). */
    public boolean isLeaf() {
        return gradNode == null;
    }

    /** Name of the op that made this tensor, or {@code null} for a leaf. */
    public String gradOp() {
        return gradNode == null ? null : gradNode.op;
    }

    /** Accumulated gradient of a leaf (or of a {@link #retainGrad()} intermediate), shaped like it; or null. */
    public Tensor grad() {
        return grad;
    }

    /** Forgets the accumulated gradient. */
    public void zeroGrad() {
        grad = null;
    }

    /** Makes {@link #backward()} store this intermediate's gradient in {@link #grad()}. Returns {@code this}. */
    public Tensor retainGrad() {
        retainGrad = true;
        return this;
    }

    boolean retainsGrad() {
        return retainGrad;
    }

    /**
     * Calls {@code hook} with this tensor's gradient (its shape) when a backward pass computes it, before it moves on
     * to the inputs. The hook may return a replacement of the same shape, or null to keep it. Returns {@code this}.
     */
    public Tensor onGrad(UnaryOperator<Tensor> hook) {
        List<UnaryOperator<Tensor>> hooks = new ArrayList<>(gradHooks);
        hooks.add(hook);
        gradHooks = List.copyOf(hooks);
        return this;
    }

    List<UnaryOperator<Tensor>> gradHooks() {
        return gradHooks;
    }

    GradNode gradNode() {
        return gradNode;
    }

    void setGradNode(GradNode node) {
        this.gradNode = node;
    }

    void accumulateGrad(Tensor g) {
        grad = grad == null ? g : grad.add(g);
    }

    /** Backward from this scalar (d self / d self = 1); frees the graph. */
    public void backward() {
        Autograd.backward(this, null, false);
    }

    /** Backward with {@code gradient} (shaped like this tensor) as d loss / d self; frees the graph. */
    public void backward(Tensor gradient) {
        Autograd.backward(this, gradient, false);
    }

    /** Backward with {@code gradient} (or ones for a scalar, when null), keeping the graph when asked. */
    public void backward(Tensor gradient, boolean retainGraph) {
        Autograd.backward(this, gradient, retainGraph);
    }

    /** A view of the same data that records no graph and requires no gradient. */
    public Tensor detach() {
        return new Tensor(storage, shape, strides, offset);
    }

    // ---------------------------------------------------------------- in-place writes (never recorded)

    /**
     * Writes {@code src} (broadcast to this shape, on this tensor's device) into this tensor's elements; for
     * optimizers and caches. Refused
     * on a tensor that is part of a recorded graph, or on a leaf requiring a gradient while recording is on.
     */
    public Tensor copyFrom(Tensor src) {
        checkWritable("copyFrom");
        if (!src.device().equals(device())) {
            throw new IllegalArgumentException(OpSupport.mismatch(device(), src.device(), "copyFrom"));
        }
        backend().copy(src.expand(shape), this);
        return this;
    }

    /** Sets every element to {@code value}; the same restrictions as {@link #copyFrom}. */
    public Tensor fill(float value) {
        checkWritable("fill");
        backend().fill(this, value);
        return this;
    }

    private void checkWritable(String op) {
        if (gradNode != null || (requiresGrad && Autograd.isEnabled())) {
            throw new IllegalStateException(op + ": in-place write to a tensor that takes part in autodiff; "
                    + "do it inside Autograd.noGrad() on a leaf");
        }
    }

    // ---------------------------------------------------------------- views (share storage)

    /** The same elements as {@code shape} (one dim may be -1); requires a contiguous tensor. */
    public Tensor view(int... shape) {
        return Views.view(this, shape);
    }

    /** Like {@link #view} but copies first when this tensor is not contiguous. */
    public Tensor reshape(int... shape) {
        return Views.reshape(this, shape);
    }

    /** Dims reordered: result dim i is this tensor's dim {@code dims[i]}. */
    public Tensor permute(int... dims) {
        return Views.permute(this, dims);
    }

    /** Dims {@code d0} and {@code d1} swapped. */
    public Tensor transpose(int d0, int d1) {
        return Views.transpose(this, d0, d1);
    }

    /** Elements {@code start .. start + length - 1} of {@code dim}. */
    public Tensor narrow(int dim, int start, int length) {
        return Views.narrow(this, dim, start, length);
    }

    /** Every {@code step}-th element of {@code dim} from {@code start} up to (excluding) {@code end}; negatives count
     * from the end, as in Python. */
    public Tensor slice(int dim, int start, int end, int step) {
        return Views.slice(this, dim, start, end, step);
    }

    /** Element {@code index} of {@code dim}, that dim removed. */
    public Tensor select(int dim, int index) {
        return Views.select(this, dim, index);
    }

    /** Broadcast to {@code shape} (NumPy rules; -1 keeps a dim) without copying: expanded dims get stride 0. */
    public Tensor expand(int... shape) {
        return Views.expand(this, shape);
    }

    /** Dim {@code dim} removed; it must have size 1. */
    public Tensor squeeze(int dim) {
        return Views.squeeze(this, dim);
    }

    /** A size-1 dim inserted at {@code dim} ({@code rank + 1} positions; negative counts from the end). */
    public Tensor unsqueeze(int dim) {
        return Views.unsqueeze(this, dim);
    }

    /** Dims {@code startDim .. endDim} (inclusive) merged into one. */
    public Tensor flatten(int startDim, int endDim) {
        return Views.flatten(this, startDim, endDim);
    }

    /** This tensor if contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return isContiguous() ? this : Views.copy(this);
    }

    // ---------------------------------------------------------------- elementwise (NumPy broadcasting)

    /** this + other; shape: the broadcast of both shapes. */
    public Tensor add(Tensor other) { return Elementwise.binary(BinaryOp.ADD, this, other); }
    /** this - other; shape: the broadcast of both shapes. */
    public Tensor sub(Tensor other) { return Elementwise.binary(BinaryOp.SUB, this, other); }
    /** this · other elementwise; shape: the broadcast of both shapes. */
    public Tensor mul(Tensor other) { return Elementwise.binary(BinaryOp.MUL, this, other); }
    /** this / other elementwise; shape: the broadcast of both shapes. */
    public Tensor div(Tensor other) { return Elementwise.binary(BinaryOp.DIV, this, other); }
    /** this ^ exponent, elementwise; both differentiable (d/d exponent needs a positive base); shape: the broadcast
     * of both shapes. */
    public Tensor pow(Tensor exponent) { return Elementwise.binary(BinaryOp.POW, this, exponent); }
    /** Elementwise max; the gradient goes to the larger operand (split evenly on ties); shape: the broadcast of both
     * shapes. */
    public Tensor maximum(Tensor other) { return Elementwise.binary(BinaryOp.MAX, this, other); }
    /** Elementwise min; the gradient goes to the smaller operand (split evenly on ties); shape: the broadcast of both
     * shapes. */
    public Tensor minimum(Tensor other) { return Elementwise.binary(BinaryOp.MIN, this, other); }

    /** this + s; same shape. */
    public Tensor add(float s) { return Elementwise.unary(UnaryOp.ADD_SCALAR, this, s, 0); }
    /** this - s; same shape. */
    public Tensor sub(float s) { return Elementwise.unary(UnaryOp.ADD_SCALAR, this, -s, 0); }
    /** this · s; same shape. */
    public Tensor mul(float s) { return Elementwise.unary(UnaryOp.MUL_SCALAR, this, s, 0); }
    /** this / s; same shape. */
    public Tensor div(float s) { return Elementwise.unary(UnaryOp.MUL_SCALAR, this, 1f / s, 0); }
    /** this ^ exponent elementwise; same shape. */
    public Tensor pow(float exponent) { return Elementwise.unary(UnaryOp.POW_SCALAR, this, exponent, 0); }
    /** -this; same shape. */
    public Tensor neg() { return Elementwise.unary(UnaryOp.NEG, this, 0, 0); }
    /** e^x elementwise; same shape. */
    public Tensor exp() { return Elementwise.unary(UnaryOp.EXP, this, 0, 0); }
    /** Natural log elementwise; same shape. */
    public Tensor log() { return Elementwise.unary(UnaryOp.LOG, this, 0, 0); }
    /** Square root elementwise; same shape. */
    public Tensor sqrt() { return Elementwise.unary(UnaryOp.SQRT, this, 0, 0); }
    /** 1 / sqrt(x) elementwise; same shape. */
    public Tensor rsqrt() { return Elementwise.unary(UnaryOp.RSQRT, this, 0, 0); }
    /** x² elementwise; same shape. */
    public Tensor square() { return Elementwise.unary(UnaryOp.SQUARE, this, 0, 0); }
    /** 1 / x elementwise; same shape. */
    public Tensor reciprocal() { return Elementwise.unary(UnaryOp.RECIPROCAL, this, 0, 0); }
    /** tanh elementwise; same shape. */
    public Tensor tanh() { return Elementwise.unary(UnaryOp.TANH, this, 0, 0); }
    /** 1 / (1 + e^-x) elementwise; same shape. */
    public Tensor sigmoid() { return Elementwise.unary(UnaryOp.SIGMOID, this, 0, 0); }
    /** max(x, 0) elementwise (gradient 0 at 0); same shape. */
    public Tensor relu() { return Elementwise.unary(UnaryOp.RELU, this, 0, 0); }
    /** Exact GELU, x·Φ(x) (BERT; PyTorch's default). */
    public Tensor gelu() { return Elementwise.unary(UnaryOp.GELU_ERF, this, 0, 0); }
    /** Tanh-approximated GELU (GPT-2's {@code gelu_new}). */
    public Tensor geluTanh() { return Elementwise.unary(UnaryOp.GELU_TANH, this, 0, 0); }
    /** |x| elementwise (gradient 0 at 0); same shape. */
    public Tensor abs() { return Elementwise.unary(UnaryOp.ABS, this, 0, 0); }
    /** Not differentiable: its gradient is zero. */
    public Tensor sign() { return Elementwise.unary(UnaryOp.SIGN, this, 0, 0); }
    /** min(max(x, lo), hi); the gradient passes where lo &lt;= x &lt;= hi. */
    public Tensor clamp(float lo, float hi) { return Elementwise.unary(UnaryOp.CLAMP, this, lo, hi); }

    /** 1 where equal, else 0 (not differentiable); shape: the broadcast of both shapes. */
    public Tensor eq(Tensor other) { return Elementwise.binary(BinaryOp.EQ, this, other); }
    /** 1 where not equal, else 0 (not differentiable); shape: the broadcast of both shapes. */
    public Tensor ne(Tensor other) { return Elementwise.binary(BinaryOp.NE, this, other); }
    /** 1 where this &lt; other, else 0 (not differentiable); shape: the broadcast of both shapes. */
    public Tensor lt(Tensor other) { return Elementwise.binary(BinaryOp.LT, this, other); }
    /** 1 where this &lt;= other, else 0 (not differentiable); shape: the broadcast of both shapes. */
    public Tensor le(Tensor other) { return Elementwise.binary(BinaryOp.LE, this, other); }
    /** 1 where this &gt; other, else 0 (not differentiable); shape: the broadcast of both shapes. */
    public Tensor gt(Tensor other) { return Elementwise.binary(BinaryOp.GT, this, other); }
    /** 1 where this &gt;= other, else 0 (not differentiable); shape: the broadcast of both shapes. */
    public Tensor ge(Tensor other) { return Elementwise.binary(BinaryOp.GE, this, other); }
    /** 1 where equal to s, else 0; same shape. */
    public Tensor eq(float s) { return eq(scalar(s, device())); }
    /** 1 where not equal to s, else 0; same shape. */
    public Tensor ne(float s) { return ne(scalar(s, device())); }
    /** 1 where this &lt; s, else 0; same shape. */
    public Tensor lt(float s) { return lt(scalar(s, device())); }
    /** 1 where this &lt;= s, else 0; same shape. */
    public Tensor le(float s) { return le(scalar(s, device())); }
    /** 1 where this &gt; s, else 0; same shape. */
    public Tensor gt(float s) { return gt(scalar(s, device())); }
    /** 1 where this &gt;= s, else 0; same shape. */
    public Tensor ge(float s) { return ge(scalar(s, device())); }

    /** {@code cond != 0 ? a : b}, all three broadcast together; differentiable in {@code a} and {@code b}. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        return Elementwise.where(cond, a, b);
    }

    /** {@code value} where {@code mask} (broadcast to this shape) is non-zero, else this tensor's element. */
    public Tensor maskedFill(Tensor mask, float value) {
        return Elementwise.where(mask, scalar(value, device()), this);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements, shape []. */
    public Tensor sum() { return Reductions.sum(this, allDims(), false); }
    /** Sum over {@code dim}, which is removed. */
    public Tensor sum(int dim) { return Reductions.sum(this, new int[] {dim}, false); }
    /** Sum over {@code dim}, kept with size 1 when {@code keepdim}. */
    public Tensor sum(int dim, boolean keepdim) { return Reductions.sum(this, new int[] {dim}, keepdim); }
    /** Sum over each of {@code dims}: they are removed, or kept with size 1 when {@code keepdim}. */
    public Tensor sum(int[] dims, boolean keepdim) { return Reductions.sum(this, dims, keepdim); }
    /** Mean of all elements, shape []. */
    public Tensor mean() { return Reductions.mean(this, allDims(), false); }
    /** Mean over {@code dim}, which is removed. */
    public Tensor mean(int dim) { return Reductions.mean(this, new int[] {dim}, false); }
    /** Mean over {@code dim}, kept with size 1 when {@code keepdim}. */
    public Tensor mean(int dim, boolean keepdim) { return Reductions.mean(this, new int[] {dim}, keepdim); }
    /** Mean over each of {@code dims}, kept with size 1 when {@code keepdim}. */
    public Tensor mean(int[] dims, boolean keepdim) { return Reductions.mean(this, dims, keepdim); }
    /** Max over {@code dim} (removed, or kept as 1 when {@code keepdim}); the gradient goes to the first maximal
     * element. */
    public Tensor max(int dim, boolean keepdim) { return Reductions.max(this, dim, keepdim, true); }
    /** Min over {@code dim} (removed, or kept as 1 when {@code keepdim}); the gradient goes to the first minimal
     * element. */
    public Tensor min(int dim, boolean keepdim) { return Reductions.max(this, dim, keepdim, false); }
    /** Index (first occurrence) of the max over {@code dim}, as an index tensor; {@code dim} removed, or kept as 1
     * when {@code keepdim}. */
    public Tensor argmax(int dim, boolean keepdim) { return Reductions.argmax(this, dim, keepdim, true); }
    /** Index (first occurrence) of the min over {@code dim}, as an index tensor; {@code dim} removed, or kept as 1
     * when {@code keepdim}. */
    public Tensor argmin(int dim, boolean keepdim) { return Reductions.argmax(this, dim, keepdim, false); }
    /** log Σ exp over {@code dim}, computed stably; {@code dim} removed, or kept as 1 when {@code keepdim}. */
    public Tensor logsumexp(int dim, boolean keepdim) { return Reductions.logsumexp(this, dim, keepdim); }
    /** Σ (x - mean)² / (n - correction) over {@code dim}: correction 0 is the population variance, 1 unbiased;
     * {@code dim} removed, or kept as 1 when {@code keepdim}. */
    public Tensor var(int dim, boolean keepdim, int correction) { return Reductions.var(this, dim, keepdim, correction); }
    /** p-norm over {@code dim} (p = 2 for the Euclidean norm); {@code dim} removed, or kept as 1 when
     * {@code keepdim}. */
    public Tensor norm(float p, int dim, boolean keepdim) { return Reductions.norm(this, p, dim, keepdim); }
    /** Cosine of the angle between this and {@code other} along {@code dim}, norms clamped at {@code eps}; shape:
     * the broadcast of both shapes with {@code dim} removed. */
    public Tensor cosineSimilarity(Tensor other, int dim, float eps) {
        return Reductions.cosineSimilarity(this, other, dim, eps);
    }
    /** Sums broadcast dims away so that the result has {@code shape} (the adjoint of {@link #expand}). */
    public Tensor sumTo(int... shape) { return Reductions.sumTo(this, shape); }

    private int[] allDims() {
        int[] d = new int[shape.length];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return d;
    }

    // ---------------------------------------------------------------- linear algebra

    /**
     * Matrix product with NumPy semantics: [..., m, k] @ [..., k, n] -> [..., m, n] with broadcast batch dims; a 1-D
     * operand is a vector (its dim is dropped from the result). Transposed views are used without copies.
     */
    public Tensor matmul(Tensor other) { return LinearAlgebra.matmul(this, other); }

    /**
     * A linear layer's affine map, {@code this @ weight + bias}: [..., k] @ [k, n] + [n] → [..., n], the bias added
     * inside the product (no separate pass, no intermediate tensor). Equal to {@code matmul(weight).add(bias)} up to
     * float rounding (the bias is where the sum starts, not added at the end), with the same gradients. A null
     * {@code bias} is the plain product.
     *
     * @throws IllegalArgumentException when this has rank 0, the weight is not 2-D, the inner dims differ, or the bias
     *     is not [n]
     */
    public Tensor linear(Tensor weight, Tensor bias) { return LinearAlgebra.linear(this, weight, bias); }

    /**
     * {@code activation(this @ weight + bias)}: [..., k] @ [k, n] + [n] → [..., n], with the activation applied to
     * each block of the product while it is still in cache, so neither the pre-activation tensor nor a second pass
     * over it exists. Every element equals {@code linear(weight, bias)} followed by the activation's own op, bit for
     * bit. When gradients are recorded it runs as those two ops. A null {@code bias} is the plain product.
     *
     * @param activation one of {@code GELU_ERF, GELU_TANH, RELU, TANH, SIGMOID}
     * @throws IllegalArgumentException as {@link #linear(Tensor, Tensor)}, or for another activation
     */
    public Tensor linear(Tensor weight, Tensor bias, UnaryOp activation) {
        return LinearAlgebra.linear(this, weight, bias, activation);
    }

    /**
     * Einstein summation over letter subscripts, e.g. {@code einsum("bpd,dv->bpv", resid, wU)} or
     * {@code einsum("bqhd,bkhd->bhqk", q, k)}; an explicit output after {@code ->} or, without one, the letters
     * that occur once, in alphabetical order. {@code ...} is not supported.
     */
    public static Tensor einsum(String equation, Tensor... operands) {
        return Einsum.einsum(equation, operands);
    }

    // ---------------------------------------------------------------- neural-network ops

    /** Softmax over {@code dim}. */
    public Tensor softmax(int dim) { return NN.softmax(this, dim, false); }
    /** Log-softmax over {@code dim}. */
    public Tensor logSoftmax(int dim) { return NN.softmax(this, dim, true); }

    /**
     * Scaled dot-product attention, {@code softmax(q·kᵀ·scale + mask)·v} per batch entry and head, without
     * materializing the scores or the pattern (use the composite ops when those are wanted): the same numbers as
     * {@code q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)).mul(scale).add(mask).softmax(-1)} times v,
     * permuted back. Differentiable with respect to q, k and v by a fused backward that recomputes the pattern
     * (FlashAttention's scheme): a recorded call keeps q, k, v, the output and a [batch, head, pos] log-sum-exp, never
     * the [batch, head, pos, key_pos] pattern. The mask is an additive constant: it gets no gradient, and a mask that
     * requires one is refused. A fully masked query row (all -inf) gives nan, as the composite softmax does.
     *
     * @param q     [batch, pos, head, d_head]
     * @param k     [batch, key_pos, head, d_head]
     * @param v     [batch, key_pos, head, d_head]
     * @param scale multiplies the scores
     * @param mask  additive, broadcastable to [batch, 1, pos, key_pos] (0 or -inf), or null
     * @return [batch, pos, head, d_head], contiguous
     * @throws IllegalArgumentException when the shapes do not agree, or the mask requires a gradient
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, float scale, Tensor mask) {
        return Attention.apply(q, k, v, scale, mask);
    }

    /**
     * LayerNorm over the last dim: {@code (x - mean) / sqrt(var + eps) * weight + bias}, population variance.
     *
     * @param weight [d] or null
     * @param bias   [d] or null
     */
    public Tensor layerNorm(Tensor weight, Tensor bias, float eps) { return NN.layerNorm(this, weight, bias, eps); }

    /**
     * Mean cross-entropy of these logits [n, classes] against {@code targets} [n] (class indices); targets below 0
     * are ignored. Shape [].
     */
    public Tensor crossEntropy(Tensor targets) { return NN.crossEntropy(this, targets); }

    /** Rows of {@code weight} [vocab, d] at {@code ids} [...]: shape [..., d]; gradient flows to {@code weight}. */
    public static Tensor embedding(Tensor weight, Tensor ids) { return NN.embedding(weight, ids); }

    // ---------------------------------------------------------------- indexing and joining

    /** Slices of {@code dim} at {@code index} [n]: that dim becomes n. */
    public Tensor indexSelect(int dim, Tensor index) { return Indexing.indexSelect(this, dim, index); }

    /** {@code out[i][j] = this[i][index[i][j]]} for dim 1, likewise for any dim; {@code index} has the rank of this
     * tensor and gives the output shape. */
    public Tensor gather(int dim, Tensor index) { return Indexing.gather(this, dim, index); }

    /** A copy of this tensor with {@code src} added at {@code index} along {@code dim} (the adjoint of gather). */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) { return Indexing.scatterAdd(this, dim, index, src); }

    /** Tensors joined along existing dim {@code dim}; all other dims equal. */
    public static Tensor cat(int dim, Tensor... tensors) { return Indexing.cat(dim, tensors); }

    /** Tensors of equal shape joined along a new dim {@code dim}. */
    public static Tensor stack(int dim, Tensor... tensors) { return Indexing.stack(dim, tensors); }

    /**
     * Views along {@code dim}: with one size, chunks of that size (the last may be shorter); with several, pieces of
     * exactly those sizes, which must add up to the dim.
     */
    public List<Tensor> split(int dim, int... sizes) { return Indexing.split(this, dim, sizes); }

    /** The {@code k} largest (or smallest) along {@code dim}, sorted, with their indices. */
    public TopK topK(int k, int dim, boolean largest) { return Indexing.topK(this, k, dim, largest); }

    /** Result of {@link #topK}: values are differentiable, indices are an index tensor; both [..., k, ...]. */
    public record TopK(Tensor values, Tensor indices) {
    }

    // ---------------------------------------------------------------- printing

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shapes.format(shape));
        if (!device().equals(Device.CPU)) sb.append(' ').append(device());
        if (gradNode != null) sb.append(" grad_fn=").append(gradNode.op);
        else if (requiresGrad) sb.append(" requires_grad");
        int n = numel();
        if (n <= 64) sb.append(' ').append(Arrays.toString(toFloatArray()));
        return sb.toString();
    }
}
