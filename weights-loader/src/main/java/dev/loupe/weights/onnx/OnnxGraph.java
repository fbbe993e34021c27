package dev.loupe.weights.onnx;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The main graph of an ONNX model ({@code GraphProto}): its nodes in file order (ONNX requires topological order),
 * its initializers (the weights) by name, and the names of its inputs and outputs. Graph inputs that are also
 * initializers (older exporters list weights as inputs) are not in {@link #inputs()}.
 *
 * @param name         the graph's name
 * @param nodes        in file order
 * @param initializers by name, in file order (unmodifiable)
 * @param inputs       names of the graph inputs a caller feeds
 * @param outputs      names of the graph outputs
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, Map<String, OnnxTensor> initializers, List<String> inputs,
                        List<String> outputs) {
    public OnnxGraph {
        nodes = List.copyOf(nodes);
        initializers = Collections.unmodifiableMap(new java.util.LinkedHashMap<>(initializers));
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }
}
