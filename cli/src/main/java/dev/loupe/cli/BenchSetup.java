package dev.loupe.cli;

import dev.loupe.tensor.Parallel;
import dev.loupe.weights.json.Json;
import dev.loupe.weights.json.JsonException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Where a benchmark run finds things and how it reaches its anchors: the repository root (for {@code bench-out/},
 * {@code bench/} and {@code jmh/target}), the anchors folder ({@code ../shared/anchors} from the root unless
 * {@code --anchors} or {@code LOUPE_ANCHORS} says otherwise), the Python that runs them ({@code /usr/bin/python3}
 * unless {@code --python} or {@code LOUPE_ANCHOR_PYTHON}), and whether anchors run at all. Anchors are separate
 * processes whose stdout carries JSON lines; {@link #runAnchor} collects them.
 *
 * @param root      the repository root
 * @param anchors   the anchors folder (may not exist: every anchor is then missing)
 * @param python    the interpreter for the anchor scripts
 * @param withAnchors false under {@code --no-anchor}: Loupe's lines only, no rows
 * @param out       where JSON lines go as they are measured
 */
record BenchSetup(Path root, Path anchors, String python, boolean withAnchors, PrintStream out) {
    /** Longest an anchor may run before it is stopped and reported as failed. */
    private static final long ANCHOR_TIMEOUT_S = 900;

    /** The repository root: the folder above {@code cli/target} that holds the jar or classes this runs from. */
    static Path defaultRoot() {
        String env = System.getenv("LOUPE_ROOT");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        try {
            Path p = Path.of(BenchSetup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // cli/target/loupe-cli.jar or cli/target/classes: three levels up is the root.
            Path root = p.getParent() == null ? null : p.getParent().getParent();
            root = root == null ? null : root.getParent();
            if (root != null && Files.isRegularFile(root.resolve("pom.xml"))) return root;
        } catch (Exception e) {
            // fall through to the working directory
        }
        return Path.of("").toAbsolutePath();
    }

    static Path defaultAnchors(Path root) {
        String env = System.getenv("LOUPE_ANCHORS");
        if (env != null && !env.isBlank()) return Path.of(env);
        return root.resolve("..").resolve("shared").resolve("anchors").normalize();
    }

    static String defaultPython() {
        String env = System.getenv("LOUPE_ANCHOR_PYTHON");
        return env != null && !env.isBlank() ? env : "/usr/bin/python3";
    }

    /** Threads on each side: Loupe's kernel pool size, which anchors are given too so both use the same cores. */
    int threads() {
        return Parallel.threads();
    }

    /** Folder for generated models ({@code ROOT/bench-out}, git-ignored). */
    Path benchOut() {
        return root.resolve("bench-out");
    }

    /**
     * Why the anchor script {@code name} cannot run, or null when it can: the script must exist in the anchors folder
     * and the Python must import each of {@code modules}.
     */
    String anchorMissing(Path script, String... modules) {
        if (!withAnchors) return "anchor not run (--no-anchor)";
        if (!Files.isRegularFile(script)) {
            return "anchor missing: no " + script + " (install ../shared/anchors, or point --anchors at them)";
        }
        for (String module : modules) {
            if (!imports(module)) {
                return "anchor missing: " + python + " cannot import " + module + " (run ../shared/anchors/setup.sh)";
            }
        }
        return null;
    }

    private static final Map<String, Boolean> IMPORTS = new HashMap<>();

    private boolean imports(String module) {
        synchronized (IMPORTS) {
            return IMPORTS.computeIfAbsent(python + " " + module, k -> {
                try {
                    Output o = run(List.of(python, "-c", "import " + module), Map.of(), 120);
                    return o.exit() == 0;
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    /** The anchor script {@code name} in the anchors folder. */
    Path anchor(String name) {
        return anchors.resolve(name);
    }

    /**
     * Runs an anchor (or any helper process) to completion and returns its JSON lines; throws {@link AnchorFailed}
     * with the tail of its output when it exits non-zero or prints no JSON line.
     */
    List<Map<String, Object>> runAnchor(List<String> command, Map<String, String> env) throws IOException {
        Output o = run(command, env, ANCHOR_TIMEOUT_S);
        if (o.exit() != 0 || o.json().isEmpty()) {
            String tail = o.other().isEmpty() ? "no output" : o.other().get(o.other().size() - 1);
            throw new AnchorFailed("exit " + o.exit() + ": " + tail);
        }
        return o.json();
    }

    /** An anchor that ran but failed; the message is one line for the table. */
    static final class AnchorFailed extends IOException {
        AnchorFailed(String message) {
            super(message);
        }
    }

    /** A finished process: exit code, the JSON objects it printed one per line, and every other line. */
    record Output(int exit, List<Map<String, Object>> json, List<String> other) {
    }

    /** Runs {@code command} with stdout and stderr merged, waiting at most {@code timeoutS} seconds. */
    static Output run(List<String> command, Map<String, String> env, long timeoutS) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(nullFile()));
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Output(127, List.of(), List.of("cannot start " + command.get(0) + ": " + e.getMessage()));
        }
        // Drained on another thread so that a process that hangs with its output open still meets the timeout.
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }, Thread::startVirtualThread);
        String text;
        try {
            if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Output(124, List.of(), List.of("timed out after " + timeoutS + " s"));
            }
            text = output.get();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + command.get(0), e);
        } catch (ExecutionException e) {
            throw new IOException("reading the output of " + command.get(0), e);
        }
        List<Map<String, Object>> json = new ArrayList<>();
        List<String> other = new ArrayList<>();
        split(text, json, other);
        return new Output(p.exitValue(), json, other);
    }

    private static java.io.File nullFile() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    /** The JSON objects among {@code text}'s lines, in order; other lines (warnings, progress) are skipped. */
    static List<Map<String, Object>> jsonLines(String text) {
        List<Map<String, Object>> json = new ArrayList<>();
        split(text, json, new ArrayList<>());
        return json;
    }

    @SuppressWarnings("unchecked")
    private static void split(String text, List<Map<String, Object>> json, List<String> other) {
        for (String line : text.split("\\R")) {
            String s = line.strip();
            if (s.isEmpty()) continue;
            if (s.startsWith("{") && s.endsWith("}")) {
                try {
                    json.add((Map<String, Object>) Json.parse(s));
                    continue;
                } catch (JsonException e) {
                    // not JSON after all: kept with the other lines
                }
            }
            other.add(s);
        }
    }

    /** The number under {@code key}; an anchor line without it is reported as a failed anchor. */
    static double number(Map<String, Object> line, String key) throws AnchorFailed {
        if (line.get(key) instanceof Number n) return n.doubleValue();
        throw new AnchorFailed("no number '" + key + "' in " + Json.write(line));
    }

    /** Prints {@code line} with {@code bench} and {@code engine} first, as every raw line of a benchmark starts. */
    void print(String bench, String engine, Map<String, Object> line) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", bench);
        m.put("engine", engine);
        line.forEach((k, v) -> {
            if (!k.equals("bench") && !k.equals("engine")) m.put(k, v);
        });
        out.println(Json.write(m));
        out.flush();
    }
}
