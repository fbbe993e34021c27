package dev.loupe.weights.json;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict RFC 8259 JSON parser and a writer, with no dependencies, for {@code config.json}, safetensors headers,
 * tokenizer files and CLI output.
 *
 * <p>Parsing maps JSON to: object → unmodifiable {@code Map<String, Object>} in document order, array → unmodifiable
 * {@code List<Object>}, string → {@link String}, integer without fraction or exponent → {@link Long} (or
 * {@link Double} when it does not fit a long), other number → {@link Double}, {@code true/false} → {@link Boolean},
 * {@code null} → {@code null}. Rejected with {@link JsonException} (giving line and column): trailing commas,
 * comments, NaN, leading zeros, unescaped control characters, duplicate object keys (a safetensors header with two
 * entries for one tensor must not silently keep one), nesting deeper than {@link #MAX_DEPTH}, and trailing content.
 * A leading byte-order mark is skipped. Lone surrogates in {@code \\u} escapes are kept as they are.
 *
 * <p>Stateless and thread-safe.
 */
public final class Json {
    /** Deepest nesting of arrays and objects accepted; bounds recursion on hostile input. */
    public static final int MAX_DEPTH = 512;

    private Json() {}

    /** Parses one JSON value filling the whole of {@code text}. */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        if (p.pos < text.length() && text.charAt(p.pos) == '\uFEFF') p.pos++;
        p.skipWhitespace();
        Object v = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) throw p.error("unexpected content after the JSON value");
        return v;
    }

    /** Compact JSON for {@code value}; see {@link #write(Object, boolean)}. */
    public static String write(Object value) {
        return write(value, false);
    }

    /**
     * JSON text for {@code value}: a {@code Map} with string keys, {@code Iterable}, {@code float[]}, {@code double[]},
     * {@code int[]}, {@code long[]}, {@code Object[]}, {@code String}, {@code Number}, {@code Boolean} or {@code null},
     * nested freely. {@code pretty} indents by two spaces. Non-ASCII characters are written as they are (the output is
     * meant to be encoded as UTF-8), except that lone surrogates, control characters and U+2028/U+2029 are escaped.
     * Throws {@link IllegalArgumentException} for NaN or infinite numbers and any other type.
     */
    public static String write(Object value, boolean pretty) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, pretty).value(value, 0);
        return sb.toString();
    }

    // ---------------------------------------------------------------- parser

    private static final class Parser {
        final String text;
        int pos;

        Parser(String text) {
            this.text = text;
        }

        Object value(int depth) {
            if (pos >= text.length()) throw error("unexpected end of input, expected a value");
            char c = text.charAt(pos);
            return switch (c) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) yield number();
                    throw error("unexpected character " + describe(c) + ", expected a value");
                }
            };
        }

        Map<String, Object> object(int depth) {
            checkDepth(depth);
            pos++; // '{'
            Map<String, Object> map = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return Collections.unmodifiableMap(map);
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') throw error("expected a string key");
                int keyPos = pos;
                String key = string();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                Object v = value(depth);
                if (map.containsKey(key)) {
                    pos = keyPos;
                    throw error("duplicate key \"" + key + "\"");
                }
                map.put(key, v);
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == '}') return Collections.unmodifiableMap(map);
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or '}' in object");
                }
            }
        }

        List<Object> array(int depth) {
            checkDepth(depth);
            pos++; // '['
            List<Object> list = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return Collections.unmodifiableList(list);
            }
            while (true) {
                skipWhitespace();
                list.add(value(depth));
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == ']') return Collections.unmodifiableList(list);
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or ']' in array");
                }
            }
        }

        String string() {
            pos++; // opening quote
            StringBuilder sb = null;
            int start = pos;
            while (true) {
                if (pos >= text.length()) throw error("unterminated string");
                char c = text.charAt(pos);
                if (c == '"') {
                    String s = sb == null ? text.substring(start, pos) : sb.append(text, start, pos).toString();
                    pos++;
                    return s;
                }
                if (c < 0x20) throw error("unescaped control character " + describe(c) + " in string");
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (sb == null) sb = new StringBuilder();
                sb.append(text, start, pos);
                pos++;
                if (pos >= text.length()) throw error("unterminated escape");
                char e = text.charAt(pos++);
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> sb.append(hex4());
                    default -> {
                        pos--;
                        throw error("invalid escape \\" + e);
                    }
                }
                start = pos;
            }
        }

        /** Four hex digits after {@code \\u}; a surrogate pair arrives as two escapes and is kept as two chars. */
        char hex4() {
            if (pos + 4 > text.length()) throw error("truncated \\u escape");
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(text.charAt(pos), 16);
                if (d < 0) throw error("invalid hex digit " + describe(text.charAt(pos)) + " in \\u escape");
                v = v * 16 + d;
                pos++;
            }
            return (char) v;
        }

        Object number() {
            int start = pos;
            if (peek() == '-') pos++;
            if (peek() == '0') {
                pos++;
                if (isDigit(peek())) throw error("leading zero in number");
            } else if (isDigit(peek())) {
                while (isDigit(peek())) pos++;
            } else {
                throw error("expected a digit");
            }
            boolean integral = true;
            if (peek() == '.') {
                integral = false;
                pos++;
                if (!isDigit(peek())) throw error("expected a digit after '.'");
                while (isDigit(peek())) pos++;
            }
            if (peek() == 'e' || peek() == 'E') {
                integral = false;
                pos++;
                if (peek() == '+' || peek() == '-') pos++;
                if (!isDigit(peek())) throw error("expected a digit in exponent");
                while (isDigit(peek())) pos++;
            }
            String s = text.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(s);
                } catch (NumberFormatException tooBig) {
                    return Double.parseDouble(s);
                }
            }
            return Double.parseDouble(s);
        }

        Object literal(String word, Object v) {
            if (!text.startsWith(word, pos)) throw error("invalid literal, expected " + word);
            pos += word.length();
            return v;
        }

        void checkDepth(int depth) {
            if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH);
        }

        void expect(char c) {
            if (peek() != c) throw error("expected '" + c + "'");
            pos++;
        }

        /** The current character, or NUL at the end (never valid where a real character is required). */
        char peek() {
            return pos < text.length() ? text.charAt(pos) : '\0';
        }

        void skipWhitespace() {
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                pos++;
            }
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        static String describe(char c) {
            return c >= 0x20 && c < 0x7F ? "'" + c + "'" : String.format("U+%04X", (int) c);
        }

        /** Line and column (both from 1) are computed only on error, so parsing pays nothing for them. */
        JsonException error(String message) {
            int line = 1, col = 1;
            int end = Math.min(pos, text.length());
            for (int i = 0; i < end; i++) {
                if (text.charAt(i) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            return new JsonException(message, line, col);
        }
    }

    // ---------------------------------------------------------------- writer

    private record Writer(StringBuilder sb, boolean pretty) {
        void value(Object v, int depth) {
            switch (v) {
                case null -> sb.append("null");
                case String s -> string(s);
                case Boolean b -> sb.append(b);
                case Double d -> finite(d, d);
                case Float f -> finite(f, f);
                case Number n -> sb.append(n);
                case Map<?, ?> m -> object(m, depth);
                case Iterable<?> it -> {
                    List<Object> items = new ArrayList<>();
                    it.forEach(items::add);
                    array(items, depth);
                }
                case Object[] a -> array(List.of(a), depth);
                case float[] a -> {
                    List<Object> items = new ArrayList<>(a.length);
                    for (float x : a) items.add(x);
                    array(items, depth);
                }
                case double[] a -> {
                    List<Object> items = new ArrayList<>(a.length);
                    for (double x : a) items.add(x);
                    array(items, depth);
                }
                case int[] a -> {
                    List<Object> items = new ArrayList<>(a.length);
                    for (int x : a) items.add(x);
                    array(items, depth);
                }
                case long[] a -> {
                    List<Object> items = new ArrayList<>(a.length);
                    for (long x : a) items.add(x);
                    array(items, depth);
                }
                default -> throw new IllegalArgumentException("Json.write: cannot write a " + v.getClass().getName());
            }
        }

        void finite(double d, Object boxed) {
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException("Json.write: " + d + " has no JSON representation");
            }
            sb.append(boxed);
        }

        void object(Map<?, ?> m, int depth) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("Json.write: object key " + e.getKey() + " is not a string");
                }
                if (!first) sb.append(',');
                first = false;
                newline(depth + 1);
                string(key);
                sb.append(pretty ? ": " : ":");
                value(e.getValue(), depth + 1);
            }
            if (!first) newline(depth);
            sb.append('}');
        }

        void array(List<?> items, int depth) {
            sb.append('[');
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) sb.append(',');
                newline(depth + 1);
                value(items.get(i), depth + 1);
            }
            if (!items.isEmpty()) newline(depth);
            sb.append(']');
        }

        void newline(int depth) {
            if (!pretty) return;
            sb.append('\n');
            for (int i = 0; i < depth; i++) sb.append("  ");
        }

        void string(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        boolean paired = Character.isHighSurrogate(c) && i + 1 < s.length()
                                && Character.isLowSurrogate(s.charAt(i + 1));
                        if (paired) {
                            sb.append(c).append(s.charAt(++i));
                        } else if (c < 0x20 || c == '\u2028' || c == '\u2029' || Character.isSurrogate(c)) {
                            // a lone surrogate cannot be encoded as UTF-8; an escape keeps the output valid
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }
}
