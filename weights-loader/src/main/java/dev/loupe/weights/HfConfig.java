package dev.loupe.weights;

import dev.loupe.weights.json.Json;
import dev.loupe.weights.json.JsonException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Typed read access to a Hugging Face {@code config.json}: {@code getInt("n_layer")}, {@code getString("model_type")}.
 * The required getters throw {@link NoSuchElementException} for a missing key and {@link IllegalArgumentException}
 * for a value of the wrong type, the message naming the file and key; the variants with a default return it only
 * when the key is absent (or JSON {@code null}), and still throw for a wrong type, since a mistyped value is a broken
 * file rather than a missing option. Immutable and thread-safe.
 */
public final class HfConfig {
    private final Path file;
    private final Map<String, Object> values;

    private HfConfig(Path file, Map<String, Object> values) {
        this.file = file;
        this.values = values;
    }

    /** Reads {@code file} (or {@code config.json} inside it when it is a folder). */
    @SuppressWarnings("unchecked")
    public static HfConfig read(Path file) throws IOException {
        if (Files.isDirectory(file)) file = file.resolve("config.json");
        Object json;
        try {
            json = Json.parse(Files.readString(file));
        } catch (JsonException e) {
            throw new WeightFileException(file, "not valid JSON: " + e.getMessage(), e);
        }
        if (!(json instanceof Map<?, ?> m)) throw new WeightFileException(file, "config is not a JSON object");
        return new HfConfig(file, (Map<String, Object>) m);
    }

    /** The file read. */
    public Path file() {
        return file;
    }

    /** Every key and its parsed JSON value (see {@link Json#parse}), unmodifiable. */
    public Map<String, Object> values() {
        return values;
    }

    /** True when {@code key} is present with a non-null value. */
    public boolean has(String key) {
        return values.get(key) != null;
    }

    public int getInt(String key) {
        return toInt(key, require(key));
    }

    public int getInt(String key, int orElse) {
        return has(key) ? getInt(key) : orElse;
    }

    /** A JSON number; integers widen to double. */
    public double getDouble(String key) {
        if (require(key) instanceof Number n) return n.doubleValue();
        throw mistyped(key, "a number");
    }

    public double getDouble(String key, double orElse) {
        return has(key) ? getDouble(key) : orElse;
    }

    public String getString(String key) {
        if (require(key) instanceof String s) return s;
        throw mistyped(key, "a string");
    }

    public String getString(String key, String orElse) {
        return has(key) ? getString(key) : orElse;
    }

    public boolean getBoolean(String key) {
        if (require(key) instanceof Boolean b) return b;
        throw mistyped(key, "true or false");
    }

    public boolean getBoolean(String key, boolean orElse) {
        return has(key) ? getBoolean(key) : orElse;
    }

    private Object require(String key) {
        Object v = values.get(key);
        if (v == null) {
            throw new NoSuchElementException(file + ": key \"" + key + "\" is " + (values.containsKey(key)
                    ? "null" : "missing") + " in the config");
        }
        return v;
    }

    private int toInt(String key, Object v) {
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return (int) l.longValue();
        throw mistyped(key, "an integer in int range");
    }

    private IllegalArgumentException mistyped(String key, String expected) {
        Object v = values.get(key);
        return new IllegalArgumentException(file + ": key \"" + key + "\" should be " + expected + " but is "
                + Json.write(v instanceof Double d && (d.isNaN() || d.isInfinite()) ? d.toString() : v));
    }

    @Override
    public String toString() {
        return "HfConfig[" + file + ", " + values.size() + " keys]";
    }
}
