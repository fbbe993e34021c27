package dev.loupe.cli;

import dev.loupe.weights.json.Json;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code loupe bench all|NAME [common flags] [NAME's flags]}: Loupe's benchmarks, each beside its anchor in the same
 * run. Every measurement is one JSON line ({@code "bench"}, {@code "engine"}: loupe or the anchor), and every compared
 * case one more ({@code "kind":"result"}: both figures, the ratio, the target, met or not). {@code all} runs every
 * benchmark with its defaults and rewrites the generated block of BENCHMARKS.md; one benchmark does so under
 * {@code --write}.
 *
 * <p>Common flags: {@code --anchors DIR} (default {@code ../shared/anchors} from the repository root, or
 * {@code LOUPE_ANCHORS}), {@code --python EXE} (default {@code /usr/bin/python3}, or {@code LOUPE_ANCHOR_PYTHON}),
 * {@code --no-anchor} (Loupe's lines only), {@code --write}, {@code --markdown FILE} (default ROOT/BENCHMARKS.md),
 * {@code --threads N} (Loupe's kernel threads, which the anchors get too).
 */
final class BenchCommand implements Command {
    /** Every benchmark, in the order {@code all} runs them and the table lists them. */
    static final List<String> NAMES = List.of(GemmBench.NAME, Gpt2Bench.FORWARD, Gpt2Bench.STEP, MiniLmBench.NAME,
            PatchSweepBench.NAME, Gpt2XlBench.NAME);
    private static final String USAGE = "usage: loupe bench all|" + String.join("|", NAMES) + " [--anchors DIR] "
            + "[--python EXE] [--no-anchor] [--write] [--markdown FILE] [--threads N] [benchmark flags]";

    @Override
    public String summary() {
        return "benchmarks beside their anchors, JSON lines; all rewrites BENCHMARKS.md: all, " + String.join(", ", NAMES);
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (args.isEmpty() || Args.wantsHelp(args)) {
            if (args.isEmpty()) throw new IllegalArgumentException(USAGE);
            System.out.println(USAGE);
            return 0;
        }
        String name = args.get(0);
        if (!name.equals("all") && !NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown benchmark '" + name + "' (known: all, " + String.join(", ", NAMES)
                    + ")");
        }
        Path root = BenchSetup.defaultRoot();
        Path anchors = BenchSetup.defaultAnchors(root), markdown = root.resolve("BENCHMARKS.md");
        String python = BenchSetup.defaultPython();
        boolean withAnchors = true, write = name.equals("all");
        List<String> own = new ArrayList<>();
        List<String> rest = args.subList(1, args.size());
        for (int i = 0; i < rest.size(); i++) {
            String arg = rest.get(i);
            switch (arg) {
                case "--anchors" -> anchors = Path.of(value(rest, i++));
                case "--python" -> python = value(rest, i++);
                case "--markdown" -> markdown = Path.of(value(rest, i++));
                case "--threads" -> Gpt2Bench.setThreads(Gpt2Bench.positive(arg, value(rest, i++)));
                case "--no-anchor" -> withAnchors = false;
                case "--write" -> write = true;
                default -> own.add(arg);
            }
        }
        if (name.equals("all") && !own.isEmpty()) {
            throw new IllegalArgumentException("bench all takes only the common flags, not '" + own.get(0)
                    + "' (run that benchmark alone for its own flags)");
        }
        if (write && !withAnchors) {
            throw new IllegalArgumentException("--no-anchor measures Loupe alone and writes no table; drop --write");
        }
        PrintStream out = System.out;
        BenchSetup setup = new BenchSetup(root, anchors, python, withAnchors, out);
        List<String> names = name.equals("all") ? NAMES : List.of(name);
        List<BenchResult> results = new ArrayList<>();
        Set<String> ran = new LinkedHashSet<>();
        for (String n : names) {
            List<BenchResult> rows;
            try {
                rows = runOne(setup, n, own);
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (Exception e) {
                // One broken benchmark must not cost the others' figures: its old rows (dated) stay in the table.
                if (names.size() == 1) throw e;
                System.err.println("loupe bench " + n + ": failed: " + e);
                continue;
            }
            for (BenchResult r : rows) out.println(Json.write(r.toJson()));
            out.flush();
            results.addAll(rows);
            ran.add(n);
        }
        if (write) {
            BenchMarkdown.write(markdown, BenchMarkdown.Machine.current(), LocalDate.now(), results, ran, NAMES);
            System.err.println("bench: rewrote the generated block of " + markdown);
        }
        return ran.size() == names.size() ? 0 : 1;
    }

    private static List<BenchResult> runOne(BenchSetup setup, String name, List<String> args) throws Exception {
        return switch (name) {
            case GemmBench.NAME -> GemmBench.run(setup, args);
            case Gpt2Bench.FORWARD, Gpt2Bench.STEP -> Gpt2Bench.run(setup, name, args);
            case MiniLmBench.NAME -> MiniLmBench.run(setup, args);
            case PatchSweepBench.NAME -> PatchSweepBench.run(setup, args);
            case Gpt2XlBench.NAME -> Gpt2XlBench.run(setup, args);
            default -> throw new IllegalStateException("no runner for " + name);
        };
    }

    private static String value(List<String> args, int i) {
        if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
            throw new IllegalArgumentException(args.get(i) + " needs a value");
        }
        return args.get(i + 1);
    }
}
