package dev.loupe.tensor;

/**
 * The scalars of one SGD step ({@code torch.optim.SGD}, no dampening), which every backend's {@link Backend#sgd}
 * applies elementwise with fused multiply-adds where PyTorch's CPU kernel fuses, so every device gives the CPU's
 * numbers:
 * <pre>
 *   d ← fma(weightDecay, p, g)
 *   b ← d on the first step, else momentum · b + d      (with a momentum buffer)
 *   d ← fma(momentum, b, d) (Nesterov) or b              (with a momentum buffer)
 *   p ← fma(−lr, d, p)
 * </pre>
 *
 * @param firstStep the buffer holds nothing yet (it is set to d rather than updated)
 */
public record SgdUpdate(float lr, float weightDecay, float momentum, boolean nesterov, boolean firstStep) {
}
