package dev.loupe.transformer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small problem of {@code src/test/python/make_adamw_fixture.py} and what torch's optimizers made of it
 * ({@code fixtures/optimizer_fixture.json}): five parameters, five steps of fixed gradients, "b" without a gradient
 * on one step, and the parameters after every step.
 */
final class OptimizerFixture {
    /**
     * Relative errors are taken against at least this magnitude: the parameters start at unit scale, so a value that
     * steps through zero keeps the rounding error of the O(1) terms that cancelled (float32 ulp(1) = 1.2e-7).
     */
    private static final double SCALE_FLOOR = 0.1;

    final Map<String, Object> root;
    final int steps;

    @SuppressWarnings("unchecked")
    OptimizerFixture() {
        try (InputStream in = OptimizerFixture.class.getResourceAsStream("/fixtures/optimizer_fixture.json")) {
            if (in == null) throw new IllegalStateException("missing optimizer_fixture.json; run make_adamw_fixture.py");
            root = (Map<String, Object>) Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        steps = ((Number) root.get("steps")).intValue();
    }

    /** Fresh parameters at their initial values, requiring gradients, in the fixture's order. */
    @SuppressWarnings("unchecked")
    Map<String, Tensor> params() {
        Map<String, Object> shapes = (Map<String, Object>) root.get("shapes");
        Map<String, Object> init = (Map<String, Object>) root.get("init");
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : shapes.keySet()) {
            int[] shape = ((List<Object>) shapes.get(name)).stream().mapToInt(x -> ((Number) x).intValue()).toArray();
            out.put(name, Tensor.of(floats(init.get(name)), shape).setRequiresGrad(true));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    List<String> decayed() {
        return (List<String>) (List<?>) root.get("decay");
    }

    @SuppressWarnings("unchecked")
    double option(String optimizer, String key) {
        Object v = ((Map<String, Object>) ((Map<String, Object>) root.get(optimizer)).get("options")).get(key);
        return v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).doubleValue();
    }

    /** Sets every parameter's grad to the fixture's gradient of {@code step} (none for the skipped one). */
    @SuppressWarnings("unchecked")
    void setGrads(Map<String, Tensor> params, int step) {
        Map<String, Object> grads = ((List<Map<String, Object>>) root.get("grads")).get(step);
        Object skip = ((Map<String, Object>) root.get("skip")).get(Integer.toString(step));
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            Tensor p = e.getValue();
            p.zeroGrad();
            if (e.getKey().equals(skip)) continue;
            // A backward of sum(p ⊙ g) leaves exactly g in p.grad(): the way real gradients arrive.
            p.mul(Tensor.of(floats(grads.get(e.getKey())), p.shape())).sum().backward();
        }
    }

    /** Asserts each parameter matches torch's after {@code step}, to {@code rel} relative (see {@link #SCALE_FLOOR}). */
    @SuppressWarnings("unchecked")
    void assertParams(String optimizer, int step, Map<String, Tensor> params, double rel) {
        Map<String, Object> want = ((List<Map<String, Object>>) ((Map<String, Object>) root.get(optimizer))
                .get("params")).get(step);
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            float[] w = floats(want.get(e.getKey())), got = e.getValue().toFloatArray();
            assertEquals(w.length, got.length);
            for (int i = 0; i < w.length; i++) {
                double err = Math.abs(got[i] - w[i]), tol = rel * Math.max(SCALE_FLOOR, Math.abs(w[i]));
                assertTrue(err <= tol, optimizer + " step " + (step + 1) + " " + e.getKey() + "[" + i + "]: torch "
                        + w[i] + ", ours " + got[i]);
            }
        }
    }

    private static float[] floats(Object list) {
        List<?> l = (List<?>) list;
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = ((Number) l.get(i)).floatValue();
        return f;
    }
}
