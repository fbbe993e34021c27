package dev.loupe.transformer.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Device;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.fake.FakeDeviceBackend;
import dev.loupe.weights.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Gpt2DeviceBench} at tiny sizes on the CPU and the fake device, so the code path the GPU machine runs is
 * exercised here: its JSON lines, and that a step trains while a forward does not. No timing is asserted.
 */
class Gpt2DeviceBenchTest {
    private static final String[] TINY = {"--device", "cpu", "--batch", "2", "--seq", "16", "--layers", "2",
        "--d-model", "32", "--heads", "4", "--vocab", "50", "--reps", "2", "--warmup", "1"};

    @Test
    @SuppressWarnings("unchecked")
    void printsOneJsonLinePerCaseWithTheFiguresAndTheUntrainedLoss() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Gpt2DeviceBench.run(Gpt2DeviceBench.Options.parse(TINY), Gpt2DeviceBench.Target.cpu(),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(2, lines.size(), "fwd and step: " + lines);
        for (int i = 0; i < 2; i++) {
            Map<String, Object> line = (Map<String, Object>) Json.parse(lines.get(i));
            assertEquals(i == 0 ? "fwd" : "step", line.get("mode"));
            assertEquals("loupe", line.get("impl"));
            assertEquals(2L, ((Number) line.get("batch")).longValue());
            assertEquals(16L, ((Number) line.get("seq")).longValue());
            assertEquals(2L, ((Number) line.get("layers")).longValue());
            assertEquals("FP32", line.get("precision"));
            assertEquals("cpu", line.get("device"));
            double ms = ((Number) line.get("ms")).doubleValue();
            assertTrue(ms > 0 && ((Number) line.get("ms_min")).doubleValue() <= ms, lines.get(i));
            assertTrue(((Number) line.get("tokens_per_s")).longValue() > 0, lines.get(i));
            assertFalse(line.containsKey("peak_device_mib"), "the CPU reports no device memory");
        }
        // Weights of std 0.02 give near-uniform predictions over 50 tokens: a loss of ln 50 (lr 1e-4 barely moves it).
        double loss = ((Number) ((Map<String, Object>) Json.parse(lines.get(1))).get("loss")).doubleValue();
        assertEquals(Math.log(50), loss, 0.05);
    }

    @Test
    void aStepChangesEveryParameterAndAForwardChangesNone() {
        Gpt2DeviceBench.Options o = Gpt2DeviceBench.Options.parse(TINY);
        Gpt2Model m = new Gpt2Model(o.config(), Gpt2Weights.init(o.config(), new Rng(0)));
        Map<String, float[]> before = snapshot(m);
        Gpt2DeviceBench.measure(m, false, o, Gpt2DeviceBench.Target.cpu());
        snapshot(m).forEach((n, w) -> assertTrue(Arrays.equals(before.get(n), w), n + " changed by a forward"));
        Gpt2DeviceBench.measure(m, true, o, Gpt2DeviceBench.Target.cpu());
        snapshot(m).forEach((n, w) -> assertFalse(Arrays.equals(before.get(n), w), n + " unchanged by 3 steps"));
    }

    /** The fake device asserts that every operand lives on it: ids, targets and optimizer state must all move. */
    @Test
    void runsOnADeviceWithEveryOperandThere() {
        FakeDeviceBackend fake = FakeDeviceBackend.install();
        Gpt2DeviceBench.Options o = Gpt2DeviceBench.Options.parse(TINY);
        Gpt2Model m = new Gpt2Model(o.config(), Gpt2Weights.init(o.config(), new Rng(0))).to(fake.device());
        int[] syncs = {0};
        Gpt2DeviceBench.Target target = new Gpt2DeviceBench.Target(fake.device(), "fake", "CPU kernels",
                () -> syncs[0]++, () -> { }, () -> 3L << 20);
        int matmuls = fake.calls("matmul");
        Map<String, Object> line = Gpt2DeviceBench.measure(m, true, o, target);
        assertTrue(fake.calls("matmul") > matmuls, "the step ran on the fake device");
        assertEquals(3, syncs[0], "one synchronisation per run (1 warm-up, 2 timed)");
        assertEquals(3L, line.get("peak_device_mib"));
    }

    @Test
    void rejectsAReducedPrecisionOnTheCpuAndUnknownDevices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gpt2DeviceBench.Options.parse("--device", "cpu", "--precision", "TF32"));
        assertTrue(e.getMessage().contains("FP32 only"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2DeviceBench.Options.parse("--device", "tpu"));
        assertTrue(e.getMessage().contains("'tpu'"), e.getMessage());
    }

    private static Map<String, float[]> snapshot(Gpt2Model m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.weights().namedLeaves().forEach((n, t) -> out.put(n, t.detach().to(Device.CPU).toFloatArray()));
        return out;
    }
}
