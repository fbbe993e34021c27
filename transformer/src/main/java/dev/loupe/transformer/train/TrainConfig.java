package dev.loupe.transformer.train;

/**
 * The knobs of one training run: AdamW with linear warm-up then cosine decay, global-norm gradient clipping, and a
 * seed that fixes the data order.
 *
 * @param steps       optimizer steps in the whole run (the cosine reaches {@code minLr} at the last one)
 * @param warmupSteps steps of linear warm-up from lr/warmup to lr (0: none)
 * @param lr          peak learning rate
 * @param minLr       learning rate at the end of the cosine
 * @param weightDecay AdamW decoupled weight decay for matrices (biases and LayerNorm parameters are exempt)
 * @param clipNorm    largest global gradient norm (L2 over every parameter); larger gradients are scaled down to it;
 *                    0 or infinity: no clipping
 * @param seed        seeds the batch drawn at each step (step s uses its own generator, so a resumed run draws the
 *                    same batches as an uninterrupted one)
 */
public record TrainConfig(int steps, int warmupSteps, double lr, double minLr, double weightDecay, double clipNorm,
                          long seed) {
    public TrainConfig {
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1 but was " + steps);
        if (warmupSteps < 0 || warmupSteps > steps) {
            throw new IllegalArgumentException("warmup steps must be in [0, " + steps + "] but was " + warmupSteps);
        }
        if (!(lr >= 0) || !(minLr >= 0) || minLr > lr) {
            throw new IllegalArgumentException("need 0 <= minLr <= lr but got lr=" + lr + ", minLr=" + minLr);
        }
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0 but was " + weightDecay);
        if (!(clipNorm >= 0)) throw new IllegalArgumentException("clip norm must be >= 0 but was " + clipNorm);
    }

    /**
     * The learning rate of step {@code step} (0-based): {@code lr·(step+1)/warmup} during warm-up, then
     * {@code minLr + (lr − minLr)·(1 + cos(π·t))/2} with t going from 0 after warm-up to 1 at the last step.
     */
    public double lrAt(int step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0 but was " + step);
        if (step < warmupSteps) return lr * (step + 1) / warmupSteps;
        int decaySteps = steps - warmupSteps;
        double t = decaySteps <= 1 ? 1 : Math.min(1.0, (double) (step - warmupSteps) / (decaySteps - 1));
        return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
    }

    /** This config with a different number of steps (e.g. the demo's quick mode). */
    public TrainConfig withSteps(int steps, int warmupSteps) {
        return new TrainConfig(steps, warmupSteps, lr, minLr, weightDecay, clipNorm, seed);
    }
}
