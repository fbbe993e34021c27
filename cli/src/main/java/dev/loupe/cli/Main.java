package dev.loupe.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Entry point of the {@code loupe} command: dispatches to a {@link Command} by name. */
public final class Main {
    private Main() {
    }

    static Map<String, Command> commands() {
        Map<String, Command> m = new LinkedHashMap<>();
        m.put("bench", new BenchCommand());
        m.put("tokenize", new TokenizeCommand());
        m.put("generate", new GenerateCommand());
        m.put("logits", new LogitsCommand());
        m.put("cache", new CacheCommand());
        m.put("embed", new EmbedCommand());
        m.put("fill-mask", new FillMaskCommand());
        m.put("patch", new PatchCommand());
        m.put("lens", new LensCommand());
        m.put("dla", new DlaCommand());
        m.put("ablate", new AblateCommand());
        m.put("demo", new DemoCommand());
        m.put("dataset", new DatasetCommand());
        m.put("path-patch", new PathPatchCommand());
        m.put("attribution-patch", new AttributionPatchCommand());
        m.put("edge-attribution", new EdgeAttributionCommand());
        m.put("heads", new HeadsCommand());
        return m;
    }

    public static void main(String[] argv) {
        System.exit(run(List.of(argv)));
    }

    static int run(List<String> argv) {
        Map<String, Command> commands = commands();
        if (argv.isEmpty() || argv.get(0).equals("help") || argv.get(0).equals("--help")) {
            System.out.println("usage: loupe <command> [args]\n\ncommands:");
            commands.forEach((name, c) -> System.out.printf("  %-18s %s%n", name, c.summary()));
            System.out.println("  test         build and run the test suite (launcher only)");
            System.out.println("  jmh          run the JMH micro-benchmarks (launcher only)");
            return 0;
        }
        Command c = commands.get(argv.get(0));
        if (c == null) {
            System.err.println("loupe: unknown command '" + argv.get(0) + "' (loupe help lists them)");
            return 2;
        }
        try {
            return c.run(argv.subList(1, argv.size()));
        } catch (IllegalArgumentException e) {
            System.err.println("loupe " + argv.get(0) + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            System.err.println("loupe " + argv.get(0) + ": " + e);
            return 1;
        }
    }
}
