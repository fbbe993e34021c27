package dev.loupe.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Define-by-run reverse-mode differentiation.
 *
 * <p>Each differentiable op calls {@link #record} on its output when gradients are enabled and some input requires
 * one; the output then carries a {@link GradFn} that maps its gradient to its inputs' gradients. {@link
 * Tensor#backward} walks that graph once, in reverse topological order, so a tensor used by several ops receives the
 * sum of their contributions before its own closure runs. Gradients are computed with recording off (no
 * higher-order derivatives). The graph is released as it is walked unless asked to be kept.
 *
 * <p>Recording is switched off per thread with {@link #noGrad()}; nothing else here is global.
 */
public final class Autograd {
    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private Autograd() {
    }

    /** A scope in which no op records a graph; close it (try-with-resources) to restore the previous state. */
    public static Scope noGrad() {
        NO_GRAD_DEPTH.get()[0]++;
        return new Scope();
    }

    /** Whether ops on this thread currently record a graph. */
    public static boolean isEnabled() {
        return NO_GRAD_DEPTH.get()[0] == 0;
    }

    /** The closable result of {@link #noGrad()}. Closing it twice is harmless. */
    public static final class Scope implements AutoCloseable {
        private boolean closed;

        private Scope() {
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                NO_GRAD_DEPTH.get()[0]--;
            }
        }
    }

    /** True when recording is on and at least one of {@code inputs} requires a gradient. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!isEnabled()) return false;
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) return true;
        }
        return false;
    }

    /**
     * Attaches {@code fn} to {@code output} as the op {@code op} over {@code inputs}, if {@link #needsGrad} holds;
     * otherwise leaves {@code output} a constant. Returns {@code output}. Inputs may contain {@code null} (for an
     * optional operand); {@code fn} must return an array as long as {@code inputs}.
     */
    public static Tensor record(Tensor output, String op, GradFn fn, Tensor... inputs) {
        if (needsGrad(inputs)) output.setGradNode(new GradNode(op, fn, inputs.clone()));
        return output;
    }

    /**
     * Gradients of {@code output} with respect to each of {@code inputs}, without touching any tensor's
     * {@link Tensor#grad()}. Gradient hooks on the way still run. Inputs that {@code output} does not depend on get a
     * zero gradient of their shape.
     *
     * @param output      any shape
     * @param gradOutput  shaped like {@code output}; {@code null} means ones (so a scalar output needs none)
     * @param inputs      tensors that require gradients (leaves or intermediates)
     * @param retainGraph keep the graph for another backward pass
     * @return one gradient per input, shaped like that input
     */
    public static List<Tensor> grad(Tensor output, Tensor gradOutput, List<Tensor> inputs, boolean retainGraph) {
        Map<Tensor, Tensor> wanted = new IdentityHashMap<>();
        for (Tensor t : inputs) wanted.put(t, null);
        run(output, gradOutput, retainGraph, wanted);
        List<Tensor> out = new ArrayList<>(inputs.size());
        for (Tensor t : inputs) {
            Tensor g = wanted.get(t);
            out.add(g != null ? g : OpSupport.alloc(t.backend(), t.shape()));
        }
        return out;
    }

    /** The engine behind {@link Tensor#backward}: accumulates into leaves and retained intermediates. */
    static void backward(Tensor output, Tensor gradOutput, boolean retainGraph) {
        run(output, gradOutput, retainGraph, null);
    }

    /**
     * One reverse sweep. With {@code wanted == null} gradients accumulate into leaves (and retained intermediates);
     * otherwise they are delivered into {@code wanted} only, and the sweep skips every node that cannot reach a
     * wanted tensor.
     */
    private static void run(Tensor output, Tensor gradOutput, boolean retainGraph, Map<Tensor, Tensor> wanted) {
        if (!output.requiresGrad()) {
            throw new IllegalStateException("backward: the output does not require a gradient (no input of the ops "
                    + "that made it requires one, or it was computed under noGrad)");
        }
        if (gradOutput == null) {
            if (output.numel() != 1) {
                throw new IllegalArgumentException("backward: output of shape " + Shapes.format(output.shape())
                        + " is not a scalar; pass a gradient of that shape");
            }
            gradOutput = OpSupport.alloc(output.backend(), output.shape());
            output.backend().fill(gradOutput, 1f);
        } else if (!java.util.Arrays.equals(gradOutput.shape(), output.shape())) {
            throw new IllegalArgumentException("backward: gradient of shape " + Shapes.format(gradOutput.shape())
                    + " for an output of shape " + Shapes.format(output.shape()));
        } else if (!gradOutput.device().equals(output.device())) {
            throw new IllegalArgumentException("backward: gradient on " + gradOutput.device() + " for an output on "
                    + output.device());
        } else {
            gradOutput = gradOutput.detach(); // the caller's tensor may carry a graph of its own; this pass ignores it
        }
        List<Tensor> order = topologicalOrder(output);
        Set<Tensor> live = wanted == null ? null : reachingWanted(order, wanted);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        grads.put(output, gradOutput);
        try (Scope ignored = noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) continue;
                for (UnaryOperator<Tensor> hook : t.gradHooks()) {
                    Tensor replaced = hook.apply(g);
                    if (replaced != null) {
                        checkSameShape("gradient hook", t, replaced);
                        g = replaced;
                    }
                }
                if (wanted != null) {
                    if (wanted.containsKey(t)) wanted.merge(t, g, Tensor::add);
                } else if (t.isLeaf() || t.retainsGrad()) {
                    // A fresh contiguous copy the first time: g may be the caller's tensor, shared with another
                    // input of the same op (add), or a stride-0 broadcast (sum); an optimizer may write into it.
                    t.accumulateGrad(t.grad() == null ? Views.copy(g) : g);
                }
                GradNode node = t.gradNode();
                if (node == null) continue;
                // A freed node has forgotten its inputs, so whether a wanted tensor lies behind it is unknown:
                // refuse rather than hand back zeros. A wanted tensor needs nothing behind itself.
                if (node.released() && (wanted == null || !wanted.containsKey(t))) {
                    throw new IllegalStateException("backward: the graph through '" + node.op + "' was already freed "
                            + "by an earlier backward; pass retainGraph=true to the first one");
                }
                if (live != null && !live.contains(t)) continue;
                Tensor[] inGrads = node.fn.apply(g);
                Tensor[] inputs = node.inputs;
                for (int k = 0; k < inputs.length; k++) {
                    Tensor in = inputs[k];
                    if (in == null || !in.requiresGrad() || inGrads[k] == null) continue;
                    // Pruning: a branch that leads to no wanted tensor gets nothing, so its hooks stay silent.
                    if (wanted != null && !live.contains(in) && !wanted.containsKey(in)) continue;
                    checkSameShape(node.op + " backward", in, inGrads[k]);
                    grads.merge(in, inGrads[k], Tensor::add);
                }
                if (!retainGraph) node.release();
            }
        }
    }

    /** A gradient must match its tensor's shape and device (a hook returning a host tensor is caught here). */
    private static void checkSameShape(String what, Tensor expected, Tensor got) {
        if (!java.util.Arrays.equals(expected.shape(), got.shape())) {
            throw new IllegalStateException(what + ": gradient of shape " + Shapes.format(got.shape())
                    + " for a tensor of shape " + Shapes.format(expected.shape()));
        }
        if (!expected.device().equals(got.device())) {
            throw new IllegalStateException(what + ": gradient on " + got.device() + " for a tensor on "
                    + expected.device());
        }
    }

    /** Tensors that require gradients and reach {@code root}, each after all its inputs (iterative DFS). */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        visited.add(root);
        stack.push(new Object[] {root, 0});
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            GradNode node = t.gradNode();
            Tensor[] inputs = node == null || node.released() ? new Tensor[0] : node.inputs;
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.requiresGrad() && visited.add(in)) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    /** The tensors of {@code order} from which some wanted tensor can be reached through recorded inputs. */
    private static Set<Tensor> reachingWanted(List<Tensor> order, Map<Tensor, Tensor> wanted) {
        Set<Tensor> live = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : order) { // inputs come before the tensors made from them
            GradNode node = t.gradNode();
            boolean reaches = false;
            if (node != null && !node.released()) {
                for (Tensor in : node.inputs) {
                    if (in != null && (wanted.containsKey(in) || live.contains(in))) {
                        reaches = true;
                        break;
                    }
                }
            }
            if (reaches) live.add(t);
        }
        return live;
    }
}
