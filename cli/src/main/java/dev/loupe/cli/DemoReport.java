package dev.loupe.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's HTML report: one self-contained page (inline styles, no scripts, nothing fetched) drawn from the same
 * results map that is written as JSON. Heatmaps are tables of coloured cells with their value on hover.
 */
final class DemoReport {
    private DemoReport() {
    }

    /** The sections the report draws, each a key path into the results (tested to be present in the JSON). */
    static final List<String> SECTIONS = List.of("induction.induction_score", "induction.previous_token_score",
            "induction.duplicate_token_score", "induction.loss_by_position", "induction.top_heads_attention",
            "ioi.logit_diff_mean", "ioi.resid_pre_patching", "ioi.head_output_patching",
            "ioi.direct_logit_attribution", "ioi.attribution_patching.resid_pre",
            "ioi.attribution_patching.head_output", "ioi.attribution_patching.resid_pre_correlation",
            "ioi.attribution_patching.head_output_correlation", "ioi.top_heads_attention");

    /** Keys each entry of {@code ioi.top_heads_attention} has besides those of the induction entries. */
    static final List<String> IOI_HEAD_KEYS = List.of("final_attention_to_io", "final_attention_to_s");

    @SuppressWarnings("unchecked")
    static String html(Map<String, Object> results) {
        Map<String, Object> ind = (Map<String, Object>) results.get("induction");
        Map<String, Object> ioi = (Map<String, Object>) results.get("ioi");
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Loupe demo report</title><style>")
                .append("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}")
                .append("table.hm{border-collapse:collapse;font-size:11px;margin:.5em 0}")
                .append("table.hm td,table.hm th{padding:2px 4px;text-align:center;min-width:18px}")
                .append("table.hm th{font-weight:normal;color:#555;white-space:nowrap}")
                .append("th.k{writing-mode:vertical-rl;transform:rotate(180deg)}")
                .append(".read{background:#f4f6f8;border-left:3px solid #68a;padding:.4em .8em;margin:.4em 0 1.5em}")
                .append(".num{font-variant-numeric:tabular-nums}</style></head><body>");
        h.append("<h1>Loupe demo report</h1><p>Two small models trained by Loupe on this machine, and what the standard ")
                .append("interpretability tools find in them.</p>");
        h.append(models((Map<String, Object>) results.get("models")));

        h.append("<h2>1. Induction heads (2-layer attention-only model)</h2>");
        h.append(String.format(Locale.ROOT, "<p class=num>Strongest induction head: <b>%s</b>, score %.3f. Loss on the "
                + "first copy of the random tokens %.3f, on the repeated copy %.3f (in-context-learning drop %.3f nats)."
                + "</p>", ind.get("top_induction_head"), num(ind.get("top_induction_score")),
                num(ind.get("loss_first_half")), num(ind.get("loss_second_half")), num(ind.get("icl_drop"))));
        for (String[] k : new String[][] {{"induction_score", "Induction score"},
                {"previous_token_score", "Previous-token score"}, {"duplicate_token_score", "Duplicate-token score"}}) {
            h.append("<h3>").append(k[1]).append(" (layer × head)</h3>");
            h.append(heatmap((List<List<Double>>) ind.get(k[0]), layerLabels(ind.get(k[0])), headLabels(ind.get(k[0])),
                    0, 1, false));
        }
        h.append("<div class=read>Each cell is the attention one head pays, on prompts of BOS, 20 random tokens and the "
                + "same 20 again, to the position its kind of head would look at (averaged over the queries that have "
                + "such a position); 1 means all of it. An induction head sits in layer 1 and leans on a previous-token "
                + "head in layer 0, which copies each token's predecessor into the residual stream.</div>");
        h.append("<h3>Loss by position</h3>").append(lossBars((List<Double>) ind.get("loss_by_position")));
        h.append(String.format(Locale.ROOT, "<div class=read>The first 20 predictions are of random tokens: no model "
                + "can do better than ln(63) ≈ 4.14 there on average (this one: %.2f; it expects tokens to repeat, as "
                + "they always do in its training data). From the repeat on, a model with induction heads predicts "
                + "the next token by copying, and the loss falls.</div>", num(ind.get("loss_first_half"))));
        h.append(patterns((List<Map<String, Object>>) ind.get("top_heads_attention"),
                (List<String>) ind.get("prompt_tokens"), "induction score"));
        h.append("<div class=read>Attention patterns over the first prompt (query rows, key columns). An induction head "
                + "shows a stripe one position right of the diagonal that starts at the repeat: each token of the "
                + "second copy looks at the token that followed its first occurrence.</div>");

        h.append("<h2>2. Indirect object identification (small GPT-2)</h2>");
        h.append(String.format(Locale.ROOT, "<p class=num>Mean logit difference logit(IO) − logit(S) on %d held-out "
                + "prompts (names and templates not used for IOI in training): <b>%.3f</b>; positive on %.0f%% of them."
                + "</p>", ((Number) ioi.get("logit_diff_prompts")).intValue(), num(ioi.get("logit_diff_mean")),
                100 * num(ioi.get("logit_diff_positive_fraction"))));
        h.append("<p>Clean: <code>").append(esc(String.valueOf(ioi.get("clean_prompt")))).append("</code><br>Corrupted: <code>")
                .append(esc(String.valueOf(ioi.get("corrupted_prompt")))).append("</code><br>")
                .append(String.format(Locale.ROOT, "logit difference clean %.3f, corrupted %.3f",
                        num(ioi.get("clean_logit_diff")), num(ioi.get("corrupted_logit_diff")))).append("</p>");
        List<String> toks = (List<String>) ioi.get("prompt_tokens");
        List<List<Double>> resid = (List<List<Double>>) ioi.get("resid_pre_patching");
        double[] range = range(resid, ioi);
        h.append("<h3>Residual stream patching (layer × position)</h3>")
                .append(heatmap(resid, layerLabels(resid), toks, range[0], range[1], true));
        h.append("<div class=read>Each cell runs the corrupted prompts with the residual stream before one layer, at one "
                + "position, taken from the clean run, and shows the logit difference that results (clean value: "
                + "darkest blue). Where the information about which name was repeated lives, patching restores the "
                + "answer: early at the second subject, later at the final position once heads have moved it.</div>");
        List<List<Double>> heads = (List<List<Double>>) ioi.get("head_output_patching");
        h.append("<h3>Head output patching (layer × head)</h3>")
                .append(heatmap(heads, layerLabels(heads), headLabels(heads), range[0], range[1], true));
        h.append("<div class=read>The same, patching one head's output (at every position) at a time: heads whose clean "
                + "output alone moves the corrupted run towards the clean answer are part of the circuit.</div>");
        h.append(attribution((Map<String, Object>) ioi.get("attribution_patching"), toks, resid, heads,
                num(ioi.get("corrupted_logit_diff"))));
        List<List<Double>> dla = (List<List<Double>>) ioi.get("direct_logit_attribution");
        double big = 0;
        for (List<Double> r : dla) for (double v : r) big = Math.max(big, Math.abs(v));
        h.append("<h3>Direct logit attribution per head (layer × head)</h3>")
                .append(heatmap(dla, layerLabels(dla), headLabels(dla), -big, big, true));
        h.append("<div class=read>How much each head's output at the final position, read straight through the "
                + "unembedding (after the final LayerNorm's scale), pushes logit(IO) above logit(S). Blue heads write the "
                + "indirect object's name, the role of the name-mover heads of Wang et al.; red heads push the other "
                + "way.</div>");
        h.append(patterns((List<Map<String, Object>>) ioi.get("top_heads_attention"), toks, "direct logit attribution"));
        StringBuilder reads = new StringBuilder();
        for (Map<String, Object> e : (List<Map<String, Object>>) ioi.get("top_heads_attention")) {
            reads.append(String.format(Locale.ROOT, " %s puts %.2f of its final-position attention on the indirect "
                    + "object's name and %.2f on the subject's.", e.get("head"), num(e.get("final_attention_to_io")),
                    num(e.get("final_attention_to_s"))));
        }
        h.append("<div class=read>Attention of the heads with the largest direct effect on the first clean prompt. A "
                + "name mover attends from the final position to the indirect object's name and copies it; a head "
                + "that attends to the subject's name and still raises logit(IO) − logit(S) writes against the "
                + "subject instead.").append(reads).append("</div>");
        h.append("</body></html>\n");
        return h.toString();
    }

    /** Attribution patching's estimates beside the activation patching changes they approximate. */
    @SuppressWarnings("unchecked")
    private static String attribution(Map<String, Object> ap, List<String> toks, List<List<Double>> resid,
                                      List<List<Double>> heads, double corrupted) {
        List<List<Double>> estResid = (List<List<Double>>) ap.get("resid_pre");
        List<List<Double>> estHeads = (List<List<Double>>) ap.get("head_output");
        // activation patching as a change from the corrupted run, on the same scale as the estimates
        List<List<Double>> changeHeads = heads.stream().map(r -> r.stream().map(v -> v - corrupted).toList()).toList();
        double big = 1e-9;
        for (List<List<Double>> m : List.of(estResid, estHeads, changeHeads)) {
            for (List<Double> r : m) for (double v : r) big = Math.max(big, Math.abs(v));
        }
        StringBuilder h = new StringBuilder("<h3>Attribution patching beside activation patching</h3>");
        h.append(String.format(Locale.ROOT, "<p class=num>Pearson correlation with activation patching: residual "
                + "stream <b>%.3f</b>, head outputs <b>%.3f</b>.</p>", num(ap.get("resid_pre_correlation")),
                num(ap.get("head_output_correlation"))));
        h.append("<h4>Estimated change, residual stream (layer × position)</h4>")
                .append(heatmap(estResid, layerLabels(estResid), toks, -big, big, true));
        h.append("<div style=\"display:flex;gap:3em;flex-wrap:wrap\"><div><h4>Estimated change, head outputs</h4>")
                .append(heatmap(estHeads, layerLabels(estHeads), headLabels(estHeads), -big, big, true))
                .append("</div><div><h4>Actual change (activation patching − corrupted)</h4>")
                .append(heatmap(changeHeads, layerLabels(changeHeads), headLabels(changeHeads), -big, big, true))
                .append("</div></div>");
        h.append("<div class=read>Attribution patching estimates every patch above at once from one backward pass: "
                + "(clean − corrupted activation) times the gradient of the logit difference on the corrupted run, "
                + "a first-order Taylor step. Where it agrees with the real patches (a correlation near 1) it can "
                + "stand in for them on models too large to patch one component at a time; where attention "
                + "patterns or LayerNorm scales change a lot between the runs, the linear estimate drifts.</div>");
        return h.toString();
    }

    @SuppressWarnings("unchecked")
    private static String models(Map<String, Object> models) {
        if (models == null) return "";
        StringBuilder h = new StringBuilder("<table class=hm><tr><th>model</th><th>folder</th><th>steps</th>"
                + "<th>training time</th></tr>");
        for (Map.Entry<String, Object> e : models.entrySet()) {
            Map<String, Object> m = (Map<String, Object>) e.getValue();
            h.append("<tr><td>").append(esc(e.getKey())).append("</td><td>").append(esc(String.valueOf(m.get("folder"))))
                    .append("</td><td>").append(m.get("steps")).append("</td><td>")
                    .append(String.format(Locale.ROOT, "%.0f s%s", num(m.get("train_seconds")),
                            Boolean.TRUE.equals(m.get("trained_now")) ? "" : " (cached)")).append("</td></tr>");
        }
        return h.append("</table>").toString();
    }

    private static double[] range(List<List<Double>> m, Map<String, Object> ioi) {
        double lo = Math.min(num(ioi.get("corrupted_logit_diff")), 0), hi = Math.max(num(ioi.get("clean_logit_diff")), 0);
        for (List<Double> r : m) for (double v : r) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        double a = Math.max(Math.abs(lo), Math.abs(hi));
        return new double[] {-a, a};
    }

    @SuppressWarnings("unchecked")
    private static String patterns(List<Map<String, Object>> heads, List<String> tokens, String by) {
        StringBuilder h = new StringBuilder();
        for (Map<String, Object> e : heads) {
            List<List<Double>> p = (List<List<Double>>) e.get("pattern");
            h.append(String.format(Locale.ROOT, "<h3>Attention pattern of %s (%s %.3f)</h3>", e.get("head"), by,
                    num(e.get("score"))));
            h.append(heatmap(p, tokens.subList(0, p.size()), tokens.subList(0, p.get(0).size()), 0, 1, false));
        }
        return h.toString();
    }

    private static String lossBars(List<Double> loss) {
        double max = 0;
        for (double v : loss) max = Math.max(max, v);
        StringBuilder h = new StringBuilder("<div style=\"display:flex;align-items:flex-end;height:120px;gap:2px\">");
        for (int i = 0; i < loss.size(); i++) {
            h.append(String.format(Locale.ROOT, "<div title=\"position %d: %.3f\" style=\"width:14px;height:%.0fpx;"
                    + "background:%s\"></div>", i, loss.get(i), 110 * loss.get(i) / Math.max(max, 1e-9),
                    i < loss.size() / 2 ? "#c88" : "#68a"));
        }
        return h.append("</div><div style=\"font-size:11px;color:#555\">position → (red: first copy, blue: repeat)"
                + "</div>").toString();
    }

    private static List<String> layerLabels(Object m) {
        int n = ((List<?>) m).size();
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> "layer " + i).toList();
    }

    private static List<String> headLabels(Object m) {
        int n = ((List<?>) ((List<?>) m).get(0)).size();
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> "head " + i).toList();
    }

    /** A table heatmap: white to blue on [lo, hi], or red–white–blue when {@code diverging}. */
    static String heatmap(List<List<Double>> m, List<String> rows, List<String> cols, double lo, double hi,
                          boolean diverging) {
        StringBuilder h = new StringBuilder("<table class=hm><tr><th></th>");
        boolean vertical = cols.size() > 8;
        for (String c : cols) h.append("<th").append(vertical ? " class=k" : "").append(">").append(esc(c)).append("</th>");
        h.append("</tr>");
        for (int i = 0; i < m.size(); i++) {
            h.append("<tr><th>").append(esc(rows.get(i))).append("</th>");
            for (int j = 0; j < m.get(i).size(); j++) {
                double v = m.get(i).get(j);
                h.append(String.format(Locale.ROOT, "<td title=\"%s, %s: %.4f\" style=\"background:%s;color:%s\">%s</td>",
                        esc(rows.get(i)), esc(cols.get(j)), v, color(v, lo, hi, diverging),
                        Math.abs(t(v, lo, hi, diverging)) > 0.6 ? "#fff" : "#222",
                        cols.size() > 12 ? "" : String.format(Locale.ROOT, "%.2f", v)));
            }
            h.append("</tr>");
        }
        return h.append("</table>").toString();
    }

    private static double t(double v, double lo, double hi, boolean diverging) {
        if (diverging) return Math.max(-1, Math.min(1, v / Math.max(Math.abs(lo), Math.abs(hi)) ));
        return hi == lo ? 0 : Math.max(0, Math.min(1, (v - lo) / (hi - lo)));
    }

    private static String color(double v, double lo, double hi, boolean diverging) {
        double t = t(v, lo, hi, diverging);
        int[] to = t >= 0 ? new int[] {33, 90, 160} : new int[] {190, 40, 40};
        double a = Math.abs(t);
        return String.format(Locale.ROOT, "rgb(%d,%d,%d)", (int) (255 + (to[0] - 255) * a),
                (int) (255 + (to[1] - 255) * a), (int) (255 + (to[2] - 255) * a));
    }

    private static double num(Object o) {
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
