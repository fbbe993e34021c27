package dev.loupe.tensor;

/**
 * The scalars of one AdamW step ({@code torch.optim.AdamW}), already rounded to float32, which every backend's
 * {@link Backend#adamW} applies elementwise in this order, each operation rounded once (no fused multiply-add), so
 * that every device gives the CPU's numbers:
 * <pre>
 *   m ← m · beta1 + g · oneMinusBeta1          v ← v · beta2 + (g · g) · oneMinusBeta2
 *   p ← p · decay − (m / (√v / bc2Sqrt + eps)) · stepSize
 * </pre>
 *
 * @param decay    1 − lr · weight decay
 * @param stepSize lr / (1 − beta1^t)
 * @param bc2Sqrt  √(1 − beta2^t)
 */
public record AdamWUpdate(float decay, float beta1, float beta2, float oneMinusBeta1, float oneMinusBeta2,
                          float stepSize, float bc2Sqrt, float eps) {
    /**
     * The scalars of step {@code step} (counted from 1), computed in double precision as PyTorch computes them in
     * Python, then rounded once.
     *
     * @throws IllegalArgumentException for a step below 1
     */
    public static AdamWUpdate of(double lr, double beta1, double beta2, double eps, float weightDecay, int step) {
        if (step < 1) throw new IllegalArgumentException("AdamW steps count from 1 but got " + step);
        return new AdamWUpdate((float) (1 - lr * weightDecay), (float) beta1, (float) beta2, (float) (1 - beta1),
                (float) (1 - beta2), (float) (lr / (1 - Math.pow(beta1, step))),
                (float) Math.sqrt(1 - Math.pow(beta2, step)), (float) eps);
    }
}
