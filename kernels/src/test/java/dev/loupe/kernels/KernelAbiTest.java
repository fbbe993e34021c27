package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loupe.tensor.BinaryOp;
import dev.loupe.tensor.ReduceOp;
import dev.loupe.tensor.UnaryOp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The contract between the Java side and the CUDA sources, read from the sources themselves: op codes (the Java side
 * passes enum ordinals) and the sizes of the structs passed by value.
 */
class KernelAbiTest {
    private static String source(String file) throws IOException {
        return Files.readString(Path.of("src/main/cuda", file));
    }

    /** The names of C enum {@code name}, with their prefix (e.g. {@code U_}) stripped. */
    private static List<String> cEnum(String src, String name, String prefix) {
        Matcher m = Pattern.compile("enum " + name + "\\s*\\{([^}]*)}").matcher(src);
        if (!m.find()) throw new AssertionError("enum " + name + " not found");
        return Arrays.stream(m.group(1).split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .map(s -> s.substring(prefix.length())).toList();
    }

    private static int define(String src, String name) {
        Matcher m = Pattern.compile("#define " + name + " (\\d+)").matcher(src);
        if (!m.find()) throw new AssertionError("#define " + name + " not found");
        return Integer.parseInt(m.group(1));
    }

    @Test
    void opCodesInTheKernelsFollowTheJavaEnums() throws IOException {
        String ew = source("elementwise.cu");
        assertEquals(Arrays.stream(UnaryOp.values()).map(Enum::name).toList(), cEnum(ew, "Unary", "U_"));
        assertEquals(Arrays.stream(BinaryOp.values()).map(Enum::name).toList(), cEnum(ew, "Binary", "B_"));
        assertEquals(Arrays.stream(ReduceOp.values()).map(Enum::name).toList(),
                cEnum(source("reduce.cu"), "Reduce", "R_"));
    }

    @Test
    void attentionTileConstantsMatchTheBackend() throws IOException {
        String att = source("attention.cu");
        assertEquals(define(att, "ATT_D"), CudaBackend.ATTENTION_MAX_D);
        assertEquals(define(att, "ATT_WARPS") * define(att, "ATT_RPW"), CudaBackend.ATTENTION_ROWS);
        assertEquals(define(att, "ATT_WARPS") * 32, CudaBackend.THREADS); // __launch_bounds__ of every kernel
    }

    @Test
    void packedStructsHaveTheSizesTheKernelsDeclare() throws IOException {
        String common = source("common.cuh"), gemm = source("gemm.cu");
        int dims = define(common, "LOUPE_MAX_DIMS"), ops = define(common, "LOUPE_MAX_OPERANDS");
        assertEquals(dims, Geometry.MAX_DIMS);
        assertEquals(ops, Geometry.MAX_OPERANDS);
        assertEquals(2 + dims + ops * dims, Geometry.PACKED_INTS); // rank, n, shape[], strides[][]
        int batch = define(gemm, "LOUPE_MAX_BATCH_DIMS");
        assertEquals(batch, GemmGeometry.MAX_BATCH_DIMS);
        // m, n, k, batch, batchRank, batchShape[], batchStride[3][], 6 matrix strides, accumulate
        assertEquals(5 + batch + 3 * batch + 6 + 1, GemmGeometry.PACKED_INTS);
    }
}
