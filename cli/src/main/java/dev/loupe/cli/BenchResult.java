package dev.loupe.cli;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One row of a benchmark's outcome: Loupe's figure for one case, its anchor's figure from the same run, and whether the
 * issue's target is met. Either figure may be absent; {@link #problem} then says why (the anchor is not installed, a
 * checkpoint is missing, a subprocess failed).
 *
 * @param bench      the benchmark's name as {@code loupe bench} takes it ({@code gemm}, {@code gpt2}, ...)
 * @param label      the case within it ({@code 128,768,2304}, {@code B=1 T=128})
 * @param loupe      Loupe's figure, or null when it was not measured
 * @param anchorName what the anchor is ({@code OpenBLAS}, {@code PyTorch 1.13.0}); shown beside its figure
 * @param anchor     the anchor's figure in the same unit, or null
 * @param target     the target for this row
 * @param problem    why a figure is missing, or null when both that the target needs are there
 */
record BenchResult(String bench, String label, Figure loupe, String anchorName, Figure anchor, Target target,
                   String problem) {

    /** A measured quantity: milliseconds per call, GFLOP/s, sentences/s. */
    record Figure(double value, String unit) {
        Figure {
            if (!(value >= 0) || Double.isInfinite(value)) {
                throw new IllegalArgumentException("a figure must be finite and non-negative, got " + value);
            }
        }

        String text() {
            return String.format(Locale.ROOT, value >= 100 ? "%.0f %s" : "%.1f %s", value, unit);
        }
    }

    /** How a row's ratio is formed and which side of the bound meets the target. */
    enum Kind {
        /** Loupe's time over the anchor's; met at or below the bound. */
        TIME_RATIO("time ratio ≤ "),
        /** Loupe's throughput over the anchor's; met at or above the bound. */
        THROUGHPUT_RATIO("throughput ratio ≥ "),
        /** The anchor's time over Loupe's (how many times faster Loupe is); met at or above the bound. */
        SPEEDUP("speed-up ≥ "),
        /** No ratio: met when Loupe's figure exists at all (the run completed under its constraint). */
        RUNS("");

        private final String prefix;

        Kind(String prefix) {
            this.prefix = prefix;
        }
    }

    /**
     * A target from the table.
     *
     * @param kind  how the ratio is formed
     * @param bound the ratio's bound (ignored for {@link Kind#RUNS})
     * @param text  for {@link Kind#RUNS}, the condition in words ({@code runs with -Xmx2g}); otherwise derived
     */
    record Target(Kind kind, double bound, String text) {
        static Target timeAtMost(double bound) {
            return new Target(Kind.TIME_RATIO, bound, null);
        }

        static Target throughputAtLeast(double bound) {
            return new Target(Kind.THROUGHPUT_RATIO, bound, null);
        }

        static Target speedupAtLeast(double bound) {
            return new Target(Kind.SPEEDUP, bound, null);
        }

        static Target runs(String condition) {
            return new Target(Kind.RUNS, Double.NaN, condition);
        }

        Target {
            if (kind != Kind.RUNS && !(bound > 0)) {
                throw new IllegalArgumentException("a ratio target needs a positive bound, got " + bound);
            }
            if (kind != Kind.RUNS) text = kind.prefix + String.format(Locale.ROOT, "%s", trim(bound));
            if (text == null || text.isBlank()) throw new IllegalArgumentException("a RUNS target needs its condition");
        }

        private static String trim(double v) {
            return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
        }
    }

    /** Where a row stands. */
    enum Status {
        MET("met"), NOT_MET("not met"), NO_ANCHOR("anchor missing"), SKIPPED("skipped");

        final String word;

        Status(String word) {
            this.word = word;
        }
    }

    BenchResult {
        if (bench == null || label == null || target == null) {
            throw new IllegalArgumentException("bench, label and target are required");
        }
        if (loupe == null && problem == null) {
            throw new IllegalArgumentException(bench + " " + label + ": no Loupe figure and no reason given");
        }
        if (anchor != null && loupe != null && !anchor.unit().equals(loupe.unit())) {
            throw new IllegalArgumentException(bench + " " + label + ": Loupe in " + loupe.unit() + " but anchor in "
                    + anchor.unit());
        }
    }

    /** A row with both figures. */
    static BenchResult compared(String bench, String label, Figure loupe, String anchorName, Figure anchor,
                                Target target) {
        return new BenchResult(bench, label, loupe, anchorName, anchor, target, null);
    }

    /** A row whose anchor could not be run; {@code why} starts with "anchor missing" or "anchor failed". */
    static BenchResult withoutAnchor(String bench, String label, Figure loupe, String anchorName, Target target,
                                     String why) {
        return new BenchResult(bench, label, loupe, anchorName, null, target, why);
    }

    /**
     * A row without a Loupe figure: skipped when {@code why} starts with "skipped" (a checkpoint is missing), not met
     * otherwise ({@code why} says how the run failed).
     */
    static BenchResult skipped(String bench, String label, String anchorName, Target target, String why) {
        return new BenchResult(bench, label, null, anchorName, null, target, why);
    }

    /** The row's ratio as its target defines it, or null when a figure is missing or the target has no ratio. */
    Double ratio() {
        if (loupe == null || anchor == null || target.kind() == Kind.RUNS) return null;
        double num = target.kind() == Kind.SPEEDUP ? anchor.value() : loupe.value();
        double den = target.kind() == Kind.SPEEDUP ? loupe.value() : anchor.value();
        return den == 0 ? null : num / den;
    }

    Status status() {
        if (loupe == null) return problem.startsWith("skipped") ? Status.SKIPPED : Status.NOT_MET;
        if (target.kind() == Kind.RUNS) return Status.MET;
        Double r = ratio();
        if (r == null) return Status.NO_ANCHOR;
        boolean met = target.kind() == Kind.TIME_RATIO ? r <= target.bound() : r >= target.bound();
        return met ? Status.MET : Status.NOT_MET;
    }

    /** The status as the table shows it: the word, or the problem when a figure is missing. */
    String statusText() {
        Status s = status();
        if (s == Status.MET || (s == Status.NOT_MET && loupe != null)) return s.word;
        return problem != null ? problem : s.word;
    }

    /** The row as one JSON object ({@code "kind":"result"}), the line {@code loupe bench} prints per row. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", bench);
        m.put("kind", "result");
        m.put("case", label);
        m.put("unit", loupe != null ? loupe.unit() : anchor != null ? anchor.unit() : null);
        m.put("loupe", loupe == null ? null : loupe.value());
        m.put("anchor", anchorName);
        m.put("anchor_value", anchor == null ? null : anchor.value());
        Double r = ratio();
        m.put("ratio", r == null ? null : Math.round(r * 1000) / 1000.0);
        m.put("target", target.text());
        m.put("status", status().word);
        if (problem != null) m.put("note", problem);
        return m;
    }
}
