package dev.loupe.cli;

import dev.loupe.interp.demo.DemoAnalysis;
import dev.loupe.interp.demo.DemoModels;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.train.Trainer;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code loupe demo}: trains (or loads from the cache) the two demo models, runs the interpretability experiments on
 * them, and writes {@code report.html} and {@code results.json}.
 */
final class DemoCommand implements Command {
    @Override
    public String summary() {
        return "train the demo models and write an interpretability report (HTML + JSON)";
    }

    @Override
    public int run(List<String> argv) throws Exception {
        if (Args.wantsHelp(argv)) {
            System.out.println("""
                    usage: loupe demo [--quick] [--out DIR]
                      --quick   fewer training steps (CI); models cached separately
                      --out     folder for report.html and results.json (default: loupe-demo)
                    Models are cached under $XDG_CACHE_HOME/loupe/demo (else ~/.cache/loupe/demo).""");
            return 0;
        }
        Args args = Args.parse("demo", argv, Set.of("--out"), Set.of("--quick"));
        boolean quick = args.has("--quick");
        Path out = Path.of(args.get("--out") == null ? "loupe-demo" : args.get("--out")).toAbsolutePath();
        Files.createDirectories(out);

        Map<String, Object> results = new LinkedHashMap<>(), models = new LinkedHashMap<>();
        results.put("quick", quick);
        DemoModels.Built[] built = new DemoModels.Built[1];
        Gpt2Model induction = DemoModels.induction(quick, progress("induction model", DemoModels.inductionSteps(quick)), built);
        models.put("induction", describe(built[0], induction));
        DemoModels.IoiModel ioi = DemoModels.ioi(quick, progress("IOI model", DemoModels.ioiSteps(quick)), built);
        models.put("ioi", describe(built[0], ioi.model()));
        results.put("models", models);
        results.putAll(analyse(induction, ioi));

        Path json = out.resolve("results.json"), html = out.resolve("report.html");
        AtomicFiles.writeString(json, Json.write(results, true) + "\n");
        AtomicFiles.writeString(html, DemoReport.html(results));
        System.out.println(html);
        System.out.println(json);
        return 0;
    }

    /** The experiments: {@code induction} and {@code ioi} sections of the results (what the report draws). */
    static Map<String, Object> analyse(Gpt2Model induction, DemoModels.IoiModel ioi) {
        Map<String, Object> out = new LinkedHashMap<>();
        System.err.println("analysing the induction model ...");
        out.put("induction", DemoAnalysis.induction(induction));
        System.err.println("analysing the IOI model ...");
        out.put("ioi", DemoAnalysis.ioi(ioi));
        return out;
    }

    private static Map<String, Object> describe(DemoModels.Built b, Gpt2Model m) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("folder", b.folder().toAbsolutePath().toString());
        d.put("trained_now", b.trained());
        d.put("steps", b.steps());
        d.put("train_seconds", b.seconds());
        d.put("config", m.config().toHfConfig(m.weights().tied()));
        return d;
    }

    /** A progress bar on stderr, redrawn every few steps. */
    private static Trainer.Listener progress(String what, int total) {
        long t0 = System.nanoTime();
        return (step, loss, lr) -> {
            if ((step + 1) % 10 != 0 && step + 1 != total) return;
            int filled = (int) (30L * (step + 1) / total);
            System.err.printf(Locale.ROOT, "\rtraining %s [%s%s] %d/%d  loss %.3f  %.0f s%s", what,
                    "#".repeat(filled), " ".repeat(30 - filled), step + 1, total, loss, (System.nanoTime() - t0) / 1e9,
                    step + 1 == total ? "\n" : "");
        };
    }
}
