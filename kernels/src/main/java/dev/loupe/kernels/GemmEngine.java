package dev.loupe.kernels;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Which GEMM {@link CudaBackend#matmul} runs: Loupe's own kernels, cuBLAS, or cuBLAS when its library loads.
 * Chosen by the system property {@code loupe.cuda.gemm=auto|loupe|cublas} (default {@code auto}) when the device is
 * opened, or later with {@link CudaBackend#gemmEngine(GemmEngine)}.
 *
 * <p>cuBLAS comes through JCublas 12.x, whose native binding needs {@code libcublas.so.12} (a CUDA 12 toolkit or
 * runtime); a machine with only CUDA 13 libraries, or none, lacks it, and then {@code auto} uses Loupe's GEMM and says
 * why, while an explicit {@code cublas} is an error.
 */
public enum GemmEngine {
    /** cuBLAS when its library loads, else Loupe's GEMM. */
    AUTO,
    /** Loupe's kernels ({@code gemm.cu}) always. */
    LOUPE,
    /** cuBLAS, or an error when it cannot be loaded. */
    CUBLAS;

    /** The system property that chooses the engine when the device is opened. */
    public static final String PROPERTY = "loupe.cuda.gemm";

    /**
     * The engine named by {@code value} ({@code auto}, {@code loupe} or {@code cublas}, any case).
     *
     * @throws IllegalArgumentException naming the bad value and the choices
     */
    public static GemmEngine parse(String value) {
        try {
            return valueOf(value.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + "=" + value + " is not a GEMM engine: expected auto, loupe "
                    + "or cublas");
        }
    }

    /** The engine the system property names ({@code auto} when unset). */
    public static GemmEngine fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, "auto"));
    }

    /**
     * What an engine resolved to: whether cuBLAS runs the products, and a one-line reason for the log and the probe
     * message, e.g. "cuBLAS unavailable: libcublas.so.12 not found; using Loupe's GEMM".
     */
    public record Choice(boolean cublas, String description) {
    }

    /**
     * Resolves this engine, asking {@code cublasFailure} (why cuBLAS cannot be loaded, or null when it can) only when
     * cuBLAS is wanted.
     *
     * @throws IllegalStateException for {@link #CUBLAS} when cuBLAS cannot be loaded, with the reason
     */
    Choice resolve(Supplier<String> cublasFailure) {
        if (this == LOUPE) return new Choice(false, "Loupe's GEMM (" + PROPERTY + "=loupe)");
        String failure = cublasFailure.get();
        if (failure == null) return new Choice(true, "cuBLAS (" + PROPERTY + "=" + name().toLowerCase(Locale.ROOT) + ")");
        if (this == CUBLAS) {
            throw new IllegalStateException(PROPERTY + "=cublas but cuBLAS is unavailable: " + failure
                    + " (use auto or loupe to run Loupe's GEMM)");
        }
        return new Choice(false, "cuBLAS unavailable: " + failure + "; using Loupe's GEMM");
    }
}
