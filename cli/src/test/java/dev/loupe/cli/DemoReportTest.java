package dev.loupe.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.weights.json.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report builder on a fabricated results object shaped like the demo's. */
class DemoReportTest {
    private static List<List<Double>> grid(int r, int c, double v) {
        return java.util.Collections.nCopies(r, java.util.Collections.nCopies(c, v));
    }

    static Map<String, Object> fabricated() {
        Map<String, Object> ind = new LinkedHashMap<>();
        List<String> toks = List.of("BOS", "t1", "t2", "t1", "t2");
        ind.put("prompt_tokens", toks);
        ind.put("induction_score", List.of(List.of(0.1, 0.2), List.of(0.95, 0.05)));
        ind.put("previous_token_score", grid(2, 2, 0.3));
        ind.put("duplicate_token_score", grid(2, 2, 0.1));
        ind.put("top_induction_head", "L1H0");
        ind.put("top_induction_score", 0.95);
        ind.put("loss_by_position", List.of(4.1, 4.2, 0.3, 0.2));
        ind.put("loss_first_half", 4.15);
        ind.put("loss_second_half", 0.25);
        ind.put("icl_drop", 3.9);
        ind.put("top_heads_attention", List.of(Map.of("head", "L1H0", "score", 0.95, "pattern", grid(5, 5, 0.2))));
        Map<String, Object> ioi = new LinkedHashMap<>();
        ioi.put("logit_diff_mean", 2.5);
        ioi.put("logit_diff_prompts", 200);
        ioi.put("logit_diff_positive_fraction", 0.9);
        ioi.put("clean_prompt", "When Amy and <Ryan> went");
        ioi.put("corrupted_prompt", "When Amy and Ryan went");
        ioi.put("prompt_tokens", List.of("BOS", "When", " Amy", " and", " Ryan"));
        ioi.put("clean_logit_diff", 2.0);
        ioi.put("corrupted_logit_diff", -2.0);
        ioi.put("resid_pre_patching", grid(3, 5, 1.0));
        ioi.put("head_output_patching", grid(3, 4, -0.5));
        ioi.put("direct_logit_attribution", List.of(List.of(0.0, 1.5), List.of(-0.7, 0.1)));
        ioi.put("top_heads_attention", List.of(Map.of("head", "L0H1", "score", 1.5, "pattern", grid(5, 5, 0.2))));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("models", Map.of("ioi", Map.of("folder", "/x", "steps", 10, "train_seconds", 1.0, "trained_now", true)));
        r.put("induction", ind);
        r.put("ioi", ioi);
        return r;
    }

    @Test
    void everySectionTheReportDrawsIsInTheJson() {
        Object back = Json.parse(Json.write(fabricated(), true));
        for (String path : DemoReport.SECTIONS) {
            Object o = back;
            for (String k : path.split("\\.")) o = ((Map<?, ?>) o).get(k);
            assertNotNull(o, path);
        }
    }

    @Test
    void theReportIsSelfContainedAndLabelled() {
        String html = DemoReport.html(fabricated());
        assertFalse(html.contains("http://") || html.contains("https://") || html.contains("src="),
                "the report must not fetch anything");
        for (String s : List.of("Induction score", "Direct logit attribution", "layer 1", "head 0", " Ryan", "L1H0",
                "0.950", "2.500")) {
            assertTrue(html.contains(s), "missing " + s);
        }
        assertTrue(html.contains("&lt;Ryan&gt;"), "prompt text must be escaped");
    }
}
