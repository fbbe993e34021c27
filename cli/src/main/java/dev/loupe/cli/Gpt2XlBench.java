package dev.loupe.cli;

import dev.loupe.cli.BenchResult.Figure;
import dev.loupe.cli.BenchResult.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code loupe bench gpt2-xl-mapped [--model DIR] [--seq T] [--reps R] [--create-checkpoint]}: a forward of GPT-2 XL
 * (48 layers, d_model 1600, 1.56 B parameters, 6.2 GB of F32) with its weights memory-mapped, in a child JVM limited
 * to {@code -Xmx2g}: B=1, T tokens (default 16), the median of R timed runs (default 3) after one untimed. Target: it
 * runs. The row gives the time and the heap's peak. No anchor.
 *
 * <p>The random checkpoint ({@code bench-out/gpt2-xl}, written by {@code bench/gpt2_big.py} one tensor at a time) is
 * never created silently: without it the row says how to create it, and {@code --create-checkpoint} does (needs torch
 * and 6.5 GB of free disk).
 */
final class Gpt2XlBench {
    static final String NAME = "gpt2-xl-mapped";
    private static final Target TARGET = Target.runs("runs with -Xmx2g");
    private static final long CHECKPOINT_BYTES = 6_300_000_000L;
    static final String CREATE = "create it with `./loupe bench gpt2-xl-mapped --create-checkpoint` (writes 6.2 GB "
            + "with bench/gpt2_big.py; needs torch)";

    private Gpt2XlBench() {
    }

    static List<BenchResult> run(BenchSetup setup, List<String> args) throws IOException {
        Args a = Args.parse("bench " + NAME, args, Set.of("--model", "--seq", "--reps"), Set.of("--create-checkpoint"));
        int seq = a.intValue("--seq", 16, 1), reps = a.intValue("--reps", 3, 1);
        Path model = a.has("--model") ? Path.of(a.get("--model")) : setup.benchOut().resolve("gpt2-xl");
        String label = "B=1 T=" + seq + ", mapped, -Xmx2g";
        if (!Files.isRegularFile(model.resolve("model.safetensors"))) {
            if (!a.has("--create-checkpoint")) {
                System.err.println("bench " + NAME + ": no checkpoint at " + model + "; " + CREATE);
                return List.of(BenchResult.skipped(NAME, label, "—", TARGET,
                        "skipped: checkpoint missing, " + CREATE));
            }
            create(setup, model);
        }

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        BenchSetup.Output o = BenchSetup.run(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-Xmx2g", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "bench", Gpt2Bench.FORWARD, "--no-anchor", "--model", model.toString(),
                "--batch", "1", "--seq", Integer.toString(seq), "--placement", "mapped", "--reps",
                Integer.toString(reps), "--warmup", "1"), Map.of("LOUPE_THREADS", Integer.toString(setup.threads())),
                1800);
        if (o.exit() != 0 || o.json().isEmpty()) {
            String tail = o.other().isEmpty() ? "no output" : o.other().get(o.other().size() - 1);
            return List.of(BenchResult.skipped(NAME, label, "—", TARGET,
                    "failed under -Xmx2g: exit " + o.exit() + ": " + tail));
        }
        Map<String, Object> line = o.json().get(0);
        setup.print(NAME, "loupe", line);
        if (!setup.withAnchors()) return List.of();
        return List.of(BenchResult.compared(NAME, label + ", heap peak " + line.get("peak_heap_mib") + " of "
                + line.get("max_heap_mib") + " MiB", new Figure(BenchSetup.number(line, "ms"), "ms"), "—", null,
                TARGET));
    }

    /** Writes the random GPT-2 XL with {@code bench/gpt2_big.py save}, which streams one tensor at a time. */
    private static void create(BenchSetup setup, Path model) throws IOException {
        Path script = setup.root().resolve("bench").resolve("gpt2_big.py");
        String missing = setup.anchorMissing(setup.anchor("torch_gpt2.py"), "torch");
        if (missing != null || !Files.isRegularFile(script)) {
            throw new IOException("--create-checkpoint needs " + script + " and torch_gpt2.py with torch: "
                    + (missing != null ? missing : "no " + script));
        }
        Files.createDirectories(model);
        long free = Files.getFileStore(model).getUsableSpace();
        if (free < CHECKPOINT_BYTES + (200L << 20)) {
            throw new IOException("--create-checkpoint: " + model + " has " + (free >> 20) + " MiB free, the "
                    + "checkpoint needs about " + (CHECKPOINT_BYTES >> 20) + " MiB");
        }
        System.err.println("bench " + NAME + ": writing a random GPT-2 XL to " + model + " (6.2 GB, minutes)");
        BenchSetup.Output o = BenchSetup.run(List.of(setup.python(), script.toString(), "save", model.toString()),
                Map.of("PYTHONPATH", setup.anchors().toString()), 3600);
        if (o.exit() != 0) {
            throw new IOException("bench/gpt2_big.py save failed: exit " + o.exit() + ": "
                    + (o.other().isEmpty() ? "no output" : o.other().get(o.other().size() - 1)));
        }
    }
}
