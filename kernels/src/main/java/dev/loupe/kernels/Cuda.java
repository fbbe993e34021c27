package dev.loupe.kernels;

import dev.loupe.tensor.Backends;
import dev.loupe.tensor.Device;

/**
 * Whether a CUDA device can be used, and the entry point to it. The first call probes once per process: it loads
 * JCuda's native library (which needs the NVIDIA driver's {@code libcuda.so.1}), initialises the driver and opens
 * device 0. Whatever fails along the way (no driver library, {@code CUDA_ERROR_NO_DEVICE}, an unusable device) is
 * caught and kept as {@link #unavailableReason()}; nothing is thrown, and the CPU backend is untouched, so a process
 * without a GPU carries on.
 *
 * <p>Thread-safe: the probe runs once, under the class initialisation lock of its holder.
 */
public final class Cuda {
    private Cuda() {
    }

    /** True when device 0 opened and its kernels loaded. */
    public static boolean available() {
        return Probe.BACKEND != null;
    }

    /** Why CUDA cannot be used (one line), or null when it can. */
    public static String unavailableReason() {
        return Probe.REASON;
    }

    /**
     * The backend of CUDA device 0, registered with {@link Backends} so that ops on its tensors dispatch to it.
     * Throws {@link IllegalStateException} carrying {@link #unavailableReason()} when there is none.
     */
    public static CudaBackend backend() {
        if (Probe.BACKEND == null) throw new IllegalStateException("CUDA is not available: " + Probe.REASON);
        return Probe.BACKEND;
    }

    /** The device that {@link #backend()} serves: {@code cuda:0}. */
    public static Device device() {
        return Device.cuda(0);
    }

    /** The one-time probe; a holder class, so that merely loading {@link Cuda} touches no native code. */
    private static final class Probe {
        static final CudaBackend BACKEND;
        static final String REASON;

        static {
            CudaBackend backend = null;
            String reason;
            try {
                CudaContext ctx = CudaContext.open(0);
                backend = new CudaBackend(ctx);
                backend.gemmEngine(GemmEngine.fromSystemProperty()); // an explicit but unloadable cuBLAS throws
                Backends.register(backend);
                reason = null;
            } catch (UnsatisfiedLinkError e) {
                reason = "no CUDA driver: JCuda's native library could not be loaded (" + missingLibrary(e, "libcuda.so.1",
                        "the NVIDIA driver provides it") + ")";
            } catch (LinkageError e) { // e.g. ExceptionInInitializerError from JCudaDriver's static initialiser
                Throwable cause = e.getCause() == null ? e : e.getCause();
                reason = "no CUDA driver: " + cause.getClass().getSimpleName() + " while loading JCuda ("
                        + firstLine(cause) + ")";
            } catch (CudaException e) {
                reason = e.result() == 100 // CUDA_ERROR_NO_DEVICE
                        ? "no CUDA device: the driver loaded but reports no device (" + e.getMessage() + ")"
                        : "CUDA device unusable: " + e.getMessage();
            } catch (IllegalArgumentException | IllegalStateException e) { // loupe.cuda.gemm: bad or unmet
                backend = null;
                reason = "CUDA GEMM: " + e.getMessage();
            } catch (RuntimeException e) {
                reason = "CUDA initialisation failed: " + e;
            }
            BACKEND = backend;
            REASON = reason;
        }

    }

    /**
     * The line of JCuda's (multi-line) native-loading report that names the missing shared library, e.g.
     * "libcuda.so.1: cannot open shared object file", with {@code hint} appended when it is {@code expected}; else
     * the report's first line.
     */
    static String missingLibrary(Throwable e, String expected, String hint) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(lib(?!JCu)[\\w.+-]*\\.so[\\w.]*): ([^\\n]*)")
                .matcher(String.valueOf(e.getMessage()));
        String lib = null, why = null;
        while (m.find()) {
            lib = m.group(1);
            why = m.group(2);
        }
        if (lib == null) return firstLine(e);
        String line = why.startsWith("cannot open shared object file") ? lib + " not found" : lib + ": " + why;
        return lib.equals(expected) ? line + "; " + hint : line;
    }

    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Prints whether CUDA is available (and why not); exit status 0 either way. */
    public static void main(String[] args) {
        if (available()) {
            System.out.println("CUDA available: " + backend().describe());
            System.out.println("GEMM: " + backend().gemmDescription());
        } else {
            System.out.println("no CUDA device available: " + unavailableReason());
        }
    }
}
