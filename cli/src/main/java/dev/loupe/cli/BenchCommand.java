package dev.loupe.cli;

import java.util.List;

/** {@code loupe bench <name> [...]}: whole-program benchmarks printing one JSON line per measurement. */
final class BenchCommand implements Command {
    @Override
    public String summary() {
        return "benchmarks printing JSON lines: gemm";
    }

    @Override
    public int run(List<String> args) throws Exception {
        if (args.isEmpty()) throw new IllegalArgumentException("usage: loupe bench gemm [--shapes M,K,N ...]");
        return switch (args.get(0)) {
            case "gemm" -> GemmBench.run(args.subList(1, args.size()));
            default -> throw new IllegalArgumentException("unknown benchmark '" + args.get(0) + "' (known: gemm)");
        };
    }
}
