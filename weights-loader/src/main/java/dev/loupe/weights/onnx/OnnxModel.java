package dev.loupe.weights.onnx;

import dev.loupe.weights.WeightFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model file ({@code ModelProto}) read with a minimal protobuf reader: what is needed to take the weights out
 * of an exported encoder and to walk its graph, nothing to run it. Reads the producer, the opset versions and the
 * main graph (nodes with their inputs, outputs and attributes; initializers; graph inputs and outputs); other fields
 * are skipped.
 *
 * <p>Malformed input (truncated, a length past the end of its message, a field with the wrong wire type, a tensor
 * whose data does not match its shape) fails with a {@link WeightFileException} naming the file, the message and the
 * byte offset. No allocation is larger than a small multiple of the input. Tensors with external data (models over
 * 2 GB saved beside a {@code .data} file) are rejected. The model keeps its bytes: tensors decode on demand.
 */
public final class OnnxModel {
    private final Path source;
    private final String producer;
    private final long irVersion;
    private final Map<String, Long> opsets;
    private final OnnxGraph graph;

    private OnnxModel(Path source, String producer, long irVersion, Map<String, Long> opsets, OnnxGraph graph) {
        this.source = source;
        this.producer = producer;
        this.irVersion = irVersion;
        this.opsets = Map.copyOf(opsets);
        this.graph = graph;
    }

    /** Reads an {@code .onnx} file (at most 2 GB, the protobuf limit). */
    public static OnnxModel read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) {
            throw new WeightFileException(file, "file of " + size + " bytes is larger than a protobuf can be (2 GB)");
        }
        return read(Files.readAllBytes(file), file);
    }

    /**
     * Reads a model from bytes (e.g. a classpath resource).
     *
     * @param source what to name in error messages
     */
    public static OnnxModel read(byte[] bytes, Path source) throws WeightFileException {
        ProtoReader r = new ProtoReader(bytes, 0, bytes.length, source, "ModelProto");
        String producer = "", producerVersion = "";
        long ir = 0;
        Map<String, Long> opsets = new HashMap<>();
        OnnxGraph graph = null;
        while (r.hasMore()) {
            r.next();
            switch (r.field()) {
                case 1 -> ir = r.int64("ir_version");
                case 2 -> producer = r.string("producer_name");
                case 3 -> producerVersion = r.string("producer_version");
                case 7 -> {
                    if (graph != null) throw r.error("more than one graph");
                    graph = readGraph(r.message("graph"));
                }
                case 8 -> {
                    ProtoReader o = r.message("opset_import");
                    String domain = "";
                    long version = 0;
                    while (o.hasMore()) {
                        o.next();
                        switch (o.field()) {
                            case 1 -> domain = o.string("domain");
                            case 2 -> version = o.int64("version");
                            default -> o.skip();
                        }
                    }
                    opsets.put(domain, version);
                }
                default -> r.skip();
            }
        }
        if (graph == null) throw new WeightFileException(source, "not an ONNX model: no graph (ModelProto field 7)");
        String p = producerVersion.isEmpty() ? producer : producer + " " + producerVersion;
        return new OnnxModel(source, p, ir, opsets, graph);
    }

    private static OnnxGraph readGraph(ProtoReader r) throws WeightFileException {
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> inits = new LinkedHashMap<>();
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        while (r.hasMore()) {
            r.next();
            switch (r.field()) {
                case 1 -> nodes.add(readNode(r.message("node")));
                case 2 -> name = r.string("name");
                case 5 -> {
                    OnnxTensor t = OnnxTensor.read(r.message("initializer"));
                    if (t.name().isEmpty()) throw r.error("an initializer has no name");
                    if (inits.put(t.name(), t) != null) throw r.error("two initializers named '" + t.name() + "'");
                }
                case 11 -> inputs.add(valueName(r.message("input")));
                case 12 -> outputs.add(valueName(r.message("output")));
                default -> r.skip();
            }
        }
        inputs.removeIf(inits::containsKey);
        return new OnnxGraph(name, nodes, inits, inputs, outputs);
    }

    private static String valueName(ProtoReader r) throws WeightFileException {
        String name = "";
        while (r.hasMore()) {
            r.next();
            if (r.field() == 1) name = r.string("name");
            else r.skip();
        }
        return name;
    }

    private static OnnxNode readNode(ProtoReader r) throws WeightFileException {
        String name = "", op = "", domain = "";
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        Map<String, OnnxAttribute> attrs = new HashMap<>();
        while (r.hasMore()) {
            r.next();
            switch (r.field()) {
                case 1 -> in.add(r.string("input"));
                case 2 -> out.add(r.string("output"));
                case 3 -> name = r.string("name");
                case 4 -> op = r.string("op_type");
                case 5 -> {
                    OnnxAttribute a = readAttribute(r.message("attribute"));
                    attrs.put(a.name(), a);
                }
                case 7 -> domain = r.string("domain");
                default -> r.skip();
            }
        }
        if (op.isEmpty()) throw r.error("node '" + name + "' has no op_type");
        return new OnnxNode(name, op, domain, in, out, attrs);
    }

    private static OnnxAttribute readAttribute(ProtoReader r) throws WeightFileException {
        String name = "", s = null;
        float f = 0;
        long i = 0;
        OnnxTensor t = null;
        List<Float> floats = new ArrayList<>();
        List<Long> ints = new ArrayList<>();
        while (r.hasMore()) {
            r.next();
            switch (r.field()) {
                case 1 -> name = r.string("name");
                case 2 -> f = r.fixed32Float("f");
                case 3 -> i = r.int64("i");
                case 4 -> s = r.string("s");
                case 5 -> t = OnnxTensor.read(r.message("t"));
                case 7 -> {
                    if (r.wire() == ProtoReader.LEN) {
                        ProtoReader p = r.message("floats");
                        while (p.hasMore()) floats.add(p.fixed32());
                    } else {
                        floats.add(r.fixed32Float("floats"));
                    }
                }
                case 8 -> {
                    if (r.wire() == ProtoReader.LEN) {
                        ProtoReader p = r.message("ints");
                        while (p.hasMore()) ints.add(p.varint());
                    } else {
                        ints.add(r.int64("ints"));
                    }
                }
                default -> r.skip();
            }
        }
        float[] fs = new float[floats.size()];
        for (int k = 0; k < fs.length; k++) fs[k] = floats.get(k);
        long[] is = new long[ints.size()];
        for (int k = 0; k < is.length; k++) is[k] = ints.get(k);
        return new OnnxAttribute(name, f, i, s, t, fs, is);
    }

    /** The file or resource this model was read from. */
    public Path source() {
        return source;
    }

    /** {@code producer_name producer_version}, e.g. "pytorch 2.0.1". */
    public String producer() {
        return producer;
    }

    public long irVersion() {
        return irVersion;
    }

    /** The default-domain ("") opset version, or 0 when the file names none. */
    public long opsetVersion() {
        return opsets.getOrDefault("", opsets.getOrDefault("ai.onnx", 0L));
    }

    public OnnxGraph graph() {
        return graph;
    }
}
