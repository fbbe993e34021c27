package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The {@code loupe.cuda.gemm} switch, without a GPU: parsing, what each setting resolves to when cuBLAS does or does
 * not load, and the real cuBLAS binding's load failure where {@code libcublas.so.12} is absent.
 */
class GemmEngineTest {
    private static final String MISSING = "libcublas.so.12 not found";

    @Test
    void settingsParseInAnyCaseAndABadOneIsNamed() {
        assertEquals(GemmEngine.AUTO, GemmEngine.parse("auto"));
        assertEquals(GemmEngine.LOUPE, GemmEngine.parse(" Loupe "));
        assertEquals(GemmEngine.CUBLAS, GemmEngine.parse("CUBLAS"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GemmEngine.parse("fast"));
        assertTrue(e.getMessage().contains("loupe.cuda.gemm=fast") && e.getMessage().contains("auto, loupe or cublas"),
                e.getMessage());
    }

    @Test
    void autoFallsBackToLoupeAndSaysWhy() {
        GemmEngine.Choice c = GemmEngine.AUTO.resolve(() -> MISSING);
        assertFalse(c.cublas());
        assertEquals("cuBLAS unavailable: libcublas.so.12 not found; using Loupe's GEMM", c.description());
        assertTrue(GemmEngine.AUTO.resolve(() -> null).cublas());
    }

    @Test
    void explicitCublasThatCannotLoadIsAnErrorNamingTheCause() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GemmEngine.CUBLAS.resolve(() -> MISSING));
        assertTrue(e.getMessage().startsWith("loupe.cuda.gemm=cublas but cuBLAS is unavailable: " + MISSING),
                e.getMessage());
        assertTrue(GemmEngine.CUBLAS.resolve(() -> null).cublas());
    }

    @Test
    void loupeNeverLooksForCublas() {
        GemmEngine.Choice c = GemmEngine.LOUPE.resolve(() -> {
            throw new AssertionError("cuBLAS probed for loupe.cuda.gemm=loupe");
        });
        assertFalse(c.cublas());
    }

    @Test
    void theRealBindingReportsAMissingLibraryInOneLine() {
        String failure = Cublas.loadFailure();
        if (failure == null) return; // a machine with CUDA 12's cuBLAS: CudaOpsTest compares it with Loupe's GEMM
        assertFalse(failure.contains("\n"), failure);
        assertTrue(failure.contains("libcublas.so.12") || failure.contains("libcuda"), failure);
        assertFalse(GemmEngine.AUTO.resolve(Cublas::loadFailure).cublas());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GemmEngine.CUBLAS.resolve(Cublas::loadFailure));
        assertTrue(e.getMessage().contains(failure), e.getMessage());
    }
}
