package dev.loupe.weights.onnx;

/**
 * One node attribute ({@code AttributeProto}) of the kinds BERT-style graphs use; fields a given attribute does not
 * set are 0, null or empty.
 *
 * @param name   the attribute's name ({@code perm}, {@code epsilon}, {@code value} ...)
 * @param f      FLOAT value
 * @param i      INT value
 * @param s      STRING value (UTF-8), or null
 * @param t      TENSOR value, or null
 * @param floats FLOATS values
 * @param ints   INTS values
 */
public record OnnxAttribute(String name, float f, long i, String s, OnnxTensor t, float[] floats, long[] ints) {
    public OnnxAttribute {
        floats = floats.clone();
        ints = ints.clone();
    }

    @Override
    public float[] floats() {
        return floats.clone();
    }

    @Override
    public long[] ints() {
        return ints.clone();
    }
}
