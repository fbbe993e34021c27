/**
 * A minimal reader of ONNX model files: a bounds-checked protobuf wire-format reader and the parts of
 * {@code ModelProto} needed to take the weights out of an exported model and walk its graph ({@link
 * dev.loupe.weights.onnx.OnnxModel}). It runs nothing; model code maps the graph onto its own parameters.
 */
package dev.loupe.weights.onnx;
