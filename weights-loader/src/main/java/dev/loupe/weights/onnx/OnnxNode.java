package dev.loupe.weights.onnx;

import java.util.List;
import java.util.Map;

/**
 * One graph node ({@code NodeProto}).
 *
 * @param name       the node's name (may be empty)
 * @param opType     the operator ({@code MatMul}, {@code Add}, {@code Softmax} ...)
 * @param domain     the operator set domain ("" for the default ONNX domain)
 * @param inputs     value names read, in order ("" marks an omitted optional input)
 * @param outputs    value names written
 * @param attributes by name
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       Map<String, OnnxAttribute> attributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = Map.copyOf(attributes);
    }

    /** The attribute {@code name}, or null. */
    public OnnxAttribute attribute(String name) {
        return attributes.get(name);
    }
}
