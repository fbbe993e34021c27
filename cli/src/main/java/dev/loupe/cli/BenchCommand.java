package dev.loupe.cli;

import java.util.List;

/** {@code loupe bench <name> [...]}: whole-program benchmarks printing one JSON line per measurement. */
final class BenchCommand implements Command {
    @Override
    public String summary() {
        return "benchmarks printing JSON lines: gemm, gpt2, patch-sweep";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (args.isEmpty()) throw new IllegalArgumentException("usage: loupe bench gemm|gpt2|patch-sweep [...]");
        return switch (args.get(0)) {
            case "gemm" -> GemmBench.run(args.subList(1, args.size()));
            case "gpt2" -> Gpt2Bench.run(args.subList(1, args.size()));
            case "patch-sweep" -> PatchSweepBench.run(args.subList(1, args.size()));
            default -> throw new IllegalArgumentException("unknown benchmark '" + args.get(0) + "' (known: gemm, gpt2, patch-sweep)");
        };
    }
}
