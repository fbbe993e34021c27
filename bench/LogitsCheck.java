import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.TokenBatch;
import dev.loupe.transformer.gpt2.Gpt2Model;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Compares Loupe's logits with a reference .npy (float32 [pos, vocab], e.g. from bench/gpt2_big.py logits --out).
 *   java --add-modules jdk.incubator.vector -cp 'cli/target/loupe-cli.jar:cli/target/lib/*' bench/LogitsCheck.java \
 *        MODEL_DIR mapped|heap|auto 1,2,3 REF.npy
 * Prints the largest absolute difference, the logits' scale, the heap in use after the forward, and the argmax
 * agreement per position.
 */
public class LogitsCheck {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Gpt2Model.Placement placement = Gpt2Model.Placement.valueOf(args[1].toUpperCase());
        int[] ids = Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray();
        byte[] npy = Files.readAllBytes(Path.of(args[3]));
        int headerLen = (npy[8] & 0xFF) | (npy[9] & 0xFF) << 8;
        ByteBuffer data = ByteBuffer.wrap(npy, 10 + headerLen, npy.length - 10 - headerLen).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        try (Gpt2Model m = Gpt2Model.load(dir, placement); var scope = Autograd.noGrad()) {
            long t = System.nanoTime();
            Tensor logits = m.forward(TokenBatch.of(ids)).select(0, 0); // [pos, vocab]
            long ms = (System.nanoTime() - t) / 1_000_000;
            int pos = logits.size(0), vocab = logits.size(1);
            float[] ours = logits.toFloatArray();
            double maxDiff = 0, maxAbs = 0;
            int agree = 0;
            for (int p = 0; p < pos; p++) {
                int ao = 0, at = 0;
                for (int v = 0; v < vocab; v++) {
                    float want = data.getFloat(4 * (p * vocab + v)), got = ours[p * vocab + v];
                    maxDiff = Math.max(maxDiff, Math.abs(want - got));
                    maxAbs = Math.max(maxAbs, Math.abs(want));
                    if (got > ours[p * vocab + ao]) ao = v;
                    if (want > data.getFloat(4 * (p * vocab + at))) at = v;
                }
                if (ao == at) agree++;
            }
            Runtime rt = Runtime.getRuntime();
            System.out.printf("mapped=%s first forward %d ms, max |diff| %.3g (max |logit| %.3g), argmax agrees at "
                    + "%d/%d positions, heap used %d MiB of max %d MiB%n", m.mapped(), ms, maxDiff, maxAbs, agree, pos,
                    (rt.totalMemory() - rt.freeMemory()) >> 20, rt.maxMemory() >> 20);
        }
    }
}
