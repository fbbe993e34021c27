package dev.loupe.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shipped PTX is in step with the CUDA sources: every .cu has a MANIFEST entry whose source hash matches the
 * sources now (so editing a kernel without running {@code kernels/build-ptx.sh} fails here, on any machine), every
 * PTX file matches its recorded hash, and every kernel the backend launches exists in the PTX. Where ptxas is
 * installed, each shipped file must also assemble for sm_90. (The full recompile-and-compare is
 * {@code kernels/build-ptx.sh --check}.)
 */
class PtxManifestTest {
    private static final Path CUDA = Path.of("src/main/cuda");
    private static final Path PTX = Path.of("src/main/resources/dev/loupe/kernels/ptx");

    @Test
    void everySourceHasAManifestEntryMatchingItsCurrentHashAndItsShippedPtx() throws Exception {
        List<String> lines = Files.readAllLines(PTX.resolve("MANIFEST"));
        String flags = lines.stream().filter(l -> l.startsWith("# flags ")).findFirst().orElseThrow().substring(8);
        Map<String, String[]> entries = new TreeMap<>();
        for (String l : lines) {
            if (l.startsWith("#") || l.isBlank()) continue;
            String[] f = l.split(" ");
            entries.put(f[1], f);
        }
        List<Path> sources = list(CUDA, ".cu");
        assertFalse(sources.isEmpty(), "no .cu files under " + CUDA.toAbsolutePath());
        for (Path cu : sources) {
            String ptx = cu.getFileName().toString().replace(".cu", ".ptx");
            String[] e = entries.remove(ptx);
            assertTrue(e != null, "MANIFEST has no entry for " + ptx + "; run kernels/build-ptx.sh");
            assertEquals(e[0], sourceHash(flags, cu), cu + " changed since its PTX was built; run kernels/build-ptx.sh");
            assertEquals(e[2], sha256(Files.readAllBytes(PTX.resolve(ptx))), ptx + " differs from the MANIFEST");
            String text = Files.readString(PTX.resolve(ptx));
            assertTrue(text.contains("\n.version 8.0\n"), ptx + " should declare PTX ISA 8.0 (CUDA 12 drivers)");
            assertTrue(text.contains("\n.target sm_80\n"), ptx + " should target sm_80");
        }
        assertTrue(entries.isEmpty(), "MANIFEST lists PTX without a source: " + entries.keySet());
    }

    @Test
    void everyKernelTheBackendLaunchesIsInThePtx() throws IOException {
        StringBuilder ptx = new StringBuilder();
        for (Path p : list(PTX, ".ptx")) ptx.append(Files.readString(p));
        String java = Files.readString(Path.of("src/main/java/dev/loupe/kernels/CudaBackend.java"));
        Matcher m = Pattern.compile("\"(loupe_[a-z0-9_]+)\"").matcher(java);
        int found = 0;
        while (m.find()) {
            found++;
            assertTrue(ptx.indexOf(".entry " + m.group(1) + "(") >= 0, "no .entry " + m.group(1) + " in the PTX");
        }
        assertTrue(found >= 20, "expected the backend to name its kernels, found " + found);
    }

    @Test
    void shippedPtxAssemblesForSm90WhereptxasIsInstalled() throws Exception {
        Path ptxas = findTool("ptxas");
        assumeTrue(ptxas != null, "ptxas not found on PATH or under /usr/local/cuda*/bin: assembly check skipped");
        for (Path p : list(PTX, ".ptx")) {
            Process proc = new ProcessBuilder(ptxas.toString(), "-arch=sm_90", "-o", "/dev/null", p.toString())
                    .redirectErrorStream(true).start();
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "ptxas timed out on " + p);
            assertEquals(0, proc.exitValue(), "ptxas -arch=sm_90 rejected " + p + ":\n" + out);
        }
    }

    /** sha256 of: the flags line, the .cu file, then every .cuh in name order (as build-ptx.sh computes it). */
    static String sourceHash(String flags, Path cu) throws IOException, NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update((flags + "\n").getBytes(StandardCharsets.UTF_8));
        md.update(Files.readAllBytes(cu));
        for (Path h : list(CUDA, ".cuh")) md.update(Files.readAllBytes(h));
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static List<Path> list(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList());
        }
    }

    /** {@code tool} on PATH, else under /usr/local/cuda/bin or /usr/local/cuda-*\/bin; null when absent. */
    static Path findTool(String tool) throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p)) return p;
        }
        Path cuda = Path.of("/usr/local/cuda/bin", tool);
        if (Files.isExecutable(cuda)) return cuda;
        try (Stream<Path> s = Files.list(Path.of("/usr/local"))) {
            return s.filter(d -> d.getFileName().toString().startsWith("cuda-")).map(d -> d.resolve("bin").resolve(tool))
                    .filter(Files::isExecutable).sorted().findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }
}
