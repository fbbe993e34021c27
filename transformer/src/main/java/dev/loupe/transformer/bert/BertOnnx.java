package dev.loupe.transformer.bert;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.Activation;
import dev.loupe.weights.WeightFileException;
import dev.loupe.weights.onnx.OnnxAttribute;
import dev.loupe.weights.onnx.OnnxGraph;
import dev.loupe.weights.onnx.OnnxModel;
import dev.loupe.weights.onnx.OnnxNode;
import dev.loupe.weights.onnx.OnnxTensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recovers a BERT encoder's config and weights from an exported ONNX graph (PyTorch's exporter, Optimum).
 *
 * <p>Exporters keep the names of embeddings, biases and LayerNorm parameters, but a linear layer's weight is usually
 * constant-folded into an anonymous [in, out] initializer ({@code onnx::MatMul_787}) that a {@code MatMul} reads.
 * The bias that the {@code MatMul}'s output flows into (an {@code Add}) keeps its real name
 * ({@code encoder.layer.0.attention.self.query.bias}), so each weight is named after the bias it meets. A
 * {@code Gemm} (with {@code transB}) or a {@code MatMul} reading a {@code Transpose} of a named weight is handled too.
 *
 * <p>What the weights do not say is read from the graph: the number of heads from the constant that scales the
 * attention scores (√d_head, divided by, or 1/√d_head, multiplied by), the LayerNorm ε from the constant added to the
 * variance (or a {@code LayerNormalization} node's attribute), and the activation from the {@code Erf} (exact GELU)
 * or {@code Gelu} nodes. A caller that knows the config (a {@code config.json} beside the file) may pass it instead.
 */
final class BertOnnx {
    private static final Pattern LAYER = Pattern.compile("^(?:bert\\.)?encoder\\.layer\\.(\\d+)\\.");

    private final OnnxModel model;
    private final OnnxGraph g;
    private final Map<String, OnnxNode> producer = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();
    private final Map<String, Tensor> params = new HashMap<>(); // canonical name (no bert. prefix) → [in, out] or as stored

    private BertOnnx(OnnxModel model) {
        this.model = model;
        this.g = model.graph();
        for (OnnxNode n : g.nodes()) {
            for (String o : n.outputs()) producer.put(o, n);
            for (String i : n.inputs()) consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
        }
    }

    /** What the graph gives: its config (null fields taken from {@code known} when given) and its weights. */
    record Loaded(BertConfig config, BertWeights weights) {
    }

    /**
     * @param known the model's config when known (from a {@code config.json}); null to read everything from the graph
     * @throws WeightFileException when the graph is not a BERT encoder, naming what is missing
     */
    static Loaded load(OnnxModel model, BertConfig known) throws WeightFileException {
        return new BertOnnx(model).load(known);
    }

    private Loaded load(BertConfig known) throws WeightFileException {
        for (Map.Entry<String, OnnxTensor> e : g.initializers().entrySet()) {
            if (e.getValue().isFloat()) params.put(canonical(e.getKey()), null); // decoded on use
        }
        Tensor word = named("embeddings.word_embeddings.weight");
        if (word == null || word.rank() != 2) {
            throw notBert("no initializer named embeddings.word_embeddings.weight (initializers: " + sample() + ")");
        }
        Tensor pos = require("embeddings.position_embeddings.weight"), types = require("embeddings.token_type_embeddings.weight");
        int layers = 0;
        for (String name : g.initializers().keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.find()) layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
        }
        if (layers == 0) throw notBert("no encoder.layer.N parameters");
        nameLinearWeights();
        int d = word.size(1);
        Tensor bIn = require("encoder.layer.0.intermediate.dense.bias");
        BertConfig c;
        if (known != null) {
            c = known;
        } else {
            int dHead = headWidth(d);
            c = new BertConfig(layers, d, d / dHead, dHead, bIn.size(0), word.size(0), pos.size(0), types.size(0),
                    layerNormEps(), activation());
        }
        if (c.nLayers() != layers || c.dModel() != d || c.dVocab() != word.size(0) || c.nCtx() != pos.size(0)
                || c.nTypes() != types.size(0) || c.dMlp() != bIn.size(0)) {
            throw new WeightFileException(model.source(), "the graph's weights (" + layers + " layers, d_model " + d
                    + ", d_mlp " + bIn.size(0) + ", vocab " + word.size(0) + ", n_ctx " + pos.size(0) + ", types "
                    + types.size(0) + ") do not match the config " + c);
        }
        List<BertWeights.Block> blocks = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            blocks.add(BertWeights.Block.of(
                    weight(p + "attention.self.query", d, d), vector(p + "attention.self.query.bias", d),
                    weight(p + "attention.self.key", d, d), vector(p + "attention.self.key.bias", d),
                    weight(p + "attention.self.value", d, d), vector(p + "attention.self.value.bias", d),
                    weight(p + "attention.output.dense", d, d), vector(p + "attention.output.dense.bias", d),
                    vector(p + "attention.output.LayerNorm.weight", d), vector(p + "attention.output.LayerNorm.bias", d),
                    weight(p + "intermediate.dense", d, c.dMlp()), vector(p + "intermediate.dense.bias", c.dMlp()),
                    weight(p + "output.dense", c.dMlp(), d), vector(p + "output.dense.bias", d),
                    vector(p + "output.LayerNorm.weight", d), vector(p + "output.LayerNorm.bias", d)));
        }
        BertWeights.Pooler pooler = null;
        if (params.get("pooler.dense.weight") != null) {
            pooler = new BertWeights.Pooler(weight("pooler.dense", d, d), vector("pooler.dense.bias", d));
        }
        BertWeights w = new BertWeights(c.nHeads(), word, pos, types, vector("embeddings.LayerNorm.weight", d),
                vector("embeddings.LayerNorm.bias", d), blocks, pooler, null);
        return new Loaded(c, w);
    }

    private static String canonical(String name) {
        return name.startsWith("bert.") ? name.substring(5) : name;
    }

    /** The float initializer {@code name} (with or without {@code bert.}), decoded, or null. */
    private Tensor named(String name) throws WeightFileException {
        if (!params.containsKey(name)) return null;
        Tensor t = params.get(name);
        if (t == null) {
            OnnxTensor o = g.initializers().get(name);
            if (o == null) o = g.initializers().get("bert." + name);
            if (o == null) return null;
            t = o.toTensor();
            params.put(name, t);
        }
        return t;
    }

    private Tensor require(String name) throws WeightFileException {
        Tensor t = named(name);
        if (t == null) throw notBert("no initializer named " + name);
        return t;
    }

    private Tensor vector(String name, int n) throws WeightFileException {
        Tensor t = require(name);
        if (t.rank() != 1 || t.size(0) != n) {
            throw new WeightFileException(model.source(), name, "shape " + java.util.Arrays.toString(t.shape())
                    + " but [" + n + "] expected");
        }
        return t;
    }

    /** The [in, out] weight of the linear layer {@code prefix} (found by {@link #nameLinearWeights}). */
    private Tensor weight(String prefix, int in, int out) throws WeightFileException {
        Tensor t = params.get(prefix + ".weight");
        if (t == null) {
            throw notBert("no MatMul weight feeding " + prefix + ".bias (the linear layer " + prefix + ")");
        }
        if (t.rank() != 2 || t.size(0) != in || t.size(1) != out) {
            throw new WeightFileException(model.source(), prefix + ".weight", "shape "
                    + java.util.Arrays.toString(t.shape()) + " but [" + in + ", " + out + "] expected");
        }
        return t;
    }

    /**
     * For every MatMul/Gemm whose weight is an initializer, names the weight after the bias its output is added to,
     * storing it [in, out] under {@code <layer>.weight} in {@link #params}.
     */
    private void nameLinearWeights() throws WeightFileException {
        for (OnnxNode n : g.nodes()) {
            if (n.opType().equals("MatMul") && n.inputs().size() == 2) {
                Tensor w = constantWeight(n.inputs().get(1));
                if (w == null) continue;
                String bias = biasAfter(n.outputs().get(0));
                if (bias != null) params.put(bias.substring(0, bias.length() - 5) + ".weight", w);
            } else if (n.opType().equals("Gemm") && n.inputs().size() == 3) {
                Tensor w = constantWeight(n.inputs().get(1));
                OnnxAttribute transB = n.attribute("transB");
                String bias = canonical(n.inputs().get(2));
                if (w == null || !bias.endsWith(".bias")) continue;
                if (transB != null && transB.i() == 1) w = w.transpose(0, 1).contiguous();
                params.put(bias.substring(0, bias.length() - 5) + ".weight", w);
            }
        }
    }

    /** A 2-D float initializer read directly or through a [1, 0] Transpose, as the [in, out] matrix MatMul sees. */
    private Tensor constantWeight(String value) throws WeightFileException {
        OnnxTensor t = g.initializers().get(value);
        if (t != null) return t.isFloat() && t.shape().length == 2 ? t.toTensor() : null;
        OnnxNode p = producer.get(value);
        if (p != null && p.opType().equals("Transpose") && g.initializers().containsKey(p.inputs().get(0))) {
            OnnxTensor src = g.initializers().get(p.inputs().get(0));
            if (src.isFloat() && src.shape().length == 2) return src.toTensor().transpose(0, 1).contiguous();
        }
        return null;
    }

    /** The name of the {@code *.bias} initializer added to {@code value} by an Add consuming it, or null. */
    private String biasAfter(String value) {
        for (OnnxNode add : consumers.getOrDefault(value, List.of())) {
            if (!add.opType().equals("Add")) continue;
            for (String in : add.inputs()) {
                if (!in.equals(value) && in.endsWith(".bias") && g.initializers().containsKey(in)) return canonical(in);
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- config from the graph

    /** d_head from the score scaling: Softmax ← Add(mask) ← Div(scores, √d_head) or Mul(scores, 1/√d_head). */
    private int headWidth(int d) throws WeightFileException {
        for (OnnxNode softmax : g.nodes()) {
            if (!softmax.opType().equals("Softmax")) continue;
            OnnxNode n = producer.get(softmax.inputs().get(0));
            for (int hops = 0; n != null && hops < 3; hops++) {
                if (n.opType().equals("Div") || n.opType().equals("Mul")) {
                    Float s = scalar(n.inputs().get(1));
                    if (s == null) s = scalar(n.inputs().get(0));
                    if (s != null && s > 0) {
                        double dh = n.opType().equals("Div") ? s * (double) s : 1.0 / (s * (double) s);
                        int dHead = (int) Math.round(dh);
                        if (dHead >= 1 && Math.abs(dh - dHead) < 1e-2 * dHead && d % dHead == 0) return dHead;
                    }
                }
                if (!n.opType().equals("Add") && !n.opType().equals("Div") && !n.opType().equals("Mul")) break;
                n = producer.get(n.inputs().get(0));
            }
        }
        throw new WeightFileException(model.source(), "cannot find the attention score scaling (√d_head) in the graph,"
                + " so the number of heads is unknown; put the model's config.json beside the .onnx file");
    }

    /** LayerNorm ε: a LayerNormalization node's attribute, or the constant added to ReduceMean's output before Sqrt. */
    private float layerNormEps() {
        for (OnnxNode n : g.nodes()) {
            if (n.opType().equals("LayerNormalization")) {
                OnnxAttribute eps = n.attribute("epsilon");
                return eps == null ? 1e-5f : eps.f(); // the ONNX default
            }
            if (n.opType().equals("Sqrt")) {
                OnnxNode add = producer.get(n.inputs().get(0));
                if (add == null || !add.opType().equals("Add")) continue;
                OnnxNode mean = producer.get(add.inputs().get(0));
                if (mean == null || !mean.opType().equals("ReduceMean")) continue;
                Float eps = scalar(add.inputs().get(1));
                if (eps != null) return eps;
            }
        }
        return 1e-12f; // BERT's default
    }

    private Activation activation() throws WeightFileException {
        for (OnnxNode n : g.nodes()) {
            if (n.opType().equals("Erf")) return Activation.GELU;
            if (n.opType().equals("Gelu")) {
                OnnxAttribute a = n.attribute("approximate");
                return a != null && "tanh".equals(a.s()) ? Activation.GELU_TANH : Activation.GELU;
            }
        }
        throw new WeightFileException(model.source(), "no Erf or Gelu node: the MLP activation is not the GELU BERT "
                + "uses; put the model's config.json beside the .onnx file");
    }

    /** The float value of a one-element Constant node output or initializer, or null. */
    private Float scalar(String value) {
        try {
            OnnxTensor t = g.initializers().get(value);
            if (t == null) {
                OnnxNode c = producer.get(value);
                if (c == null || !c.opType().equals("Constant") || c.attribute("value") == null) return null;
                t = c.attribute("value").t();
            }
            if (t == null || !t.isFloat() || t.elementCount() != 1) return null;
            return t.toTensor().toFloatArray()[0];
        } catch (WeightFileException e) {
            return null;
        }
    }

    private WeightFileException notBert(String why) {
        return new WeightFileException(model.source(), "not a BERT encoder graph: " + why);
    }

    private String sample() {
        List<String> names = new ArrayList<>(g.initializers().keySet());
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " and " + (names.size() - 5) + " more";
    }
}
