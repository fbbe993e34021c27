package dev.loupe.kernels;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;

/**
 * One device's driver state: its primary context, the stream every kernel and copy runs on, the loaded PTX modules,
 * the caching allocator and a pinned host buffer for transfers. Every CUDA call checks its result and throws a
 * {@link CudaException} naming the error and the Loupe op ({@link #check}).
 *
 * <p>The driver's "current context" is per thread, so every entry point calls {@link #enter()} first; transfers and
 * launches are serialised on this object (one stream, one staging buffer).
 */
final class CudaContext {
    /** The PTX modules shipped under {@code dev/loupe/kernels/ptx/}, compiled from {@code src/main/cuda}. */
    static final String[] MODULES = {"elementwise", "reduce", "nn", "index", "gemm"};
    /** Pinned staging buffer for host↔device copies (bigger transfers go in pieces). */
    private static final int STAGING_BYTES = 8 << 20;

    final int ordinal;
    final String name;
    final int computeCapability;
    final int driverVersion;
    private final CUcontext context;
    final CUstream stream;
    final DeviceAllocator allocator;
    private final Map<String, CUmodule> modules = new ConcurrentHashMap<>();
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final Pointer staging = new Pointer();
    private final FloatBuffer stagingFloats;
    private final ThreadLocal<Boolean> entered = ThreadLocal.withInitial(() -> false);

    private CudaContext(int ordinal) {
        this.ordinal = ordinal;
        // cuInit is the first native call: an UnsatisfiedLinkError (no libcuda.so.1) surfaces here to Cuda's probe.
        check(cuInit(0), "CUDA initialisation: cuInit");
        int[] count = {0};
        check(cuDeviceGetCount(count), "CUDA initialisation: cuDeviceGetCount");
        if (count[0] <= ordinal) throw new CudaException(CUresult.CUDA_ERROR_NO_DEVICE,
                "CUDA initialisation: the driver reports " + count[0] + " devices, device " + ordinal + " wanted");
        CUdevice device = new CUdevice();
        check(cuDeviceGet(device, ordinal), "CUDA initialisation: cuDeviceGet");
        byte[] nameBytes = new byte[256];
        check(cuDeviceGetName(nameBytes, nameBytes.length, device), "CUDA initialisation: cuDeviceGetName");
        String n = new String(nameBytes, java.nio.charset.StandardCharsets.US_ASCII);
        this.name = n.indexOf(0) < 0 ? n : n.substring(0, n.indexOf(0));
        int[] major = {0}, minor = {0}, version = {0};
        check(cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
                "CUDA initialisation: cuDeviceGetAttribute");
        check(cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
                "CUDA initialisation: cuDeviceGetAttribute");
        check(cuDriverGetVersion(version), "CUDA initialisation: cuDriverGetVersion");
        this.computeCapability = major[0] * 10 + minor[0];
        this.driverVersion = version[0];
        if (computeCapability < 80) {
            throw new CudaException(CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA initialisation: " + name
                    + " has compute capability " + major[0] + "." + minor[0] + "; Loupe's kernels need 8.0 (Ampere) "
                    + "or later (mma.sync with TF32/BF16)");
        }
        this.context = new CUcontext();
        check(cuDevicePrimaryCtxRetain(context, device), "CUDA initialisation: cuDevicePrimaryCtxRetain");
        check(cuCtxSetCurrent(context), "CUDA initialisation: cuCtxSetCurrent");
        entered.set(true);
        this.stream = new CUstream();
        check(cuStreamCreate(stream, 0), "CUDA initialisation: cuStreamCreate");
        for (String module : MODULES) loadModule(module);
        check(cuMemAllocHost(staging, STAGING_BYTES), "CUDA initialisation: cuMemAllocHost (pinned staging buffer)");
        this.stagingFloats = staging.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        this.allocator = new DeviceAllocator(new DriverCalls());
    }

    /** Opens device {@code ordinal}; throws {@link CudaException} or a {@link LinkageError} when it cannot. */
    static CudaContext open(int ordinal) {
        return new CudaContext(ordinal);
    }

    /** Makes this context current on the calling thread (once per thread). */
    void enter() {
        if (!entered.get()) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            entered.set(true);
        }
    }

    /** Throws a {@link CudaException} naming the error and {@code op} unless {@code result} is CUDA_SUCCESS. */
    static void check(int result, String op) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(result, op);
    }

    private void loadModule(String module) {
        String resource = "ptx/" + module + ".ptx";
        byte[] ptx;
        try (InputStream in = CudaContext.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing resource dev/loupe/kernels/" + resource);
            byte[] text = in.readAllBytes();
            ptx = java.util.Arrays.copyOf(text, text.length + 1); // the driver wants a NUL-terminated image
        } catch (IOException e) {
            throw new IllegalStateException("cannot read dev/loupe/kernels/" + resource, e);
        }
        CUmodule m = new CUmodule();
        check(cuModuleLoadData(m, ptx), "loading " + resource + " (driver JIT of PTX ISA 8.0 for sm_"
                + computeCapability + ")");
        modules.put(module, m);
    }

    /** The kernel {@code name} of PTX module {@code module}. */
    CUfunction function(String module, String name) {
        return functions.computeIfAbsent(name, k -> {
            CUfunction f = new CUfunction();
            check(cuModuleGetFunction(f, modules.get(module), name), "cuModuleGetFunction(" + name + ")");
            return f;
        });
    }

    /**
     * Launches {@code kernel} of {@code module} on the stream with a 1-D block of {@code block} threads and a
     * (x, y, z) grid; {@code params} are the kernel's arguments in order, each a {@link Pointer} to its value.
     */
    void launch(String op, String module, String kernel, int gx, int gy, int gz, int block, Pointer... params) {
        enter();
        CUfunction f = function(module, kernel);
        check(cuLaunchKernel(f, gx, gy, gz, block, 1, 1, 0, stream, Pointer.to(params), null),
                op + ": cuLaunchKernel(" + kernel + ", grid " + gx + "x" + gy + "x" + gz + ", block " + block + ")");
        if (DEBUG_SYNC) synchronize(op + ": " + kernel);
    }

    /**
     * With {@code -Dloupe.cuda.sync=true} every launch is followed by a stream synchronisation, so an asynchronous
     * fault (an illegal address, say) is reported at the op that caused it rather than at the next copy.
     */
    private static final boolean DEBUG_SYNC = Boolean.getBoolean("loupe.cuda.sync");

    /** Waits for the stream; errors of earlier asynchronous work surface here, naming {@code op}. */
    void synchronize(String op) {
        enter();
        check(cuStreamSynchronize(stream), op + ": cuStreamSynchronize");
    }

    /** Zero-fills {@code numel} floats at {@code ptr} (asynchronously, on the stream). */
    void zero(CUdeviceptr ptr, long numel, String op) {
        enter();
        if (numel > 0) check(cuMemsetD32Async(ptr, 0, numel, stream), op + ": cuMemsetD32Async");
    }

    /** Copies {@code len} floats from {@code src[srcOff ..]} to the device at {@code dst} (element offset). */
    synchronized void upload(float[] src, int srcOff, CUdeviceptr dst, long dstOffset, int len, String op) {
        enter();
        int chunk = STAGING_BYTES / Float.BYTES;
        for (int done = 0; done < len; done += chunk) {
            int n = Math.min(chunk, len - done);
            synchronize(op); // the staging buffer may still feed the previous copy
            stagingFloats.clear();
            stagingFloats.put(src, srcOff + done, n);
            check(cuMemcpyHtoDAsync(dst.withByteOffset((dstOffset + done) * Float.BYTES), staging,
                    (long) n * Float.BYTES, stream), op + ": cuMemcpyHtoDAsync of " + n + " floats");
        }
        synchronize(op);
    }

    /** Copies {@code len} floats from the device at {@code src} (element offset) to {@code dst[dstOff ..]}. */
    synchronized void download(CUdeviceptr src, long srcOffset, float[] dst, int dstOff, int len, String op) {
        enter();
        int chunk = STAGING_BYTES / Float.BYTES;
        for (int done = 0; done < len; done += chunk) {
            int n = Math.min(chunk, len - done);
            check(cuMemcpyDtoHAsync(staging, src.withByteOffset((srcOffset + done) * Float.BYTES),
                    (long) n * Float.BYTES, stream), op + ": cuMemcpyDtoHAsync of " + n + " floats");
            synchronize(op);
            stagingFloats.clear();
            stagingFloats.get(dst, dstOff + done, n);
        }
    }

    /** Bytes free and total on the device, {@code {free, total}}. */
    long[] memoryInfo() {
        enter();
        long[] free = {0}, total = {0};
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** The allocator's view of the driver. */
    private final class DriverCalls implements DeviceAllocator.Driver {
        @Override
        public long allocate(long bytes) {
            enter();
            DevicePointer p = new DevicePointer();
            int r = cuMemAlloc(p, bytes);
            if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return -r;
            check(r, "cuMemAlloc(" + bytes + " B)");
            return p.address();
        }

        @Override
        public void free(long address) {
            enter();
            check(cuMemFree(new DevicePointer(address)), "cuMemFree");
        }

        @Override
        public long freeBytes() {
            try {
                return memoryInfo()[0];
            } catch (CudaException e) {
                return -1;
            }
        }

        @Override
        public void synchronize() {
            CudaContext.this.synchronize("releasing cached device memory");
        }

        @Override
        public void collectGarbage() {
            System.gc(); // device blocks come back only through the Cleaners of unreachable storages
        }
    }
}
