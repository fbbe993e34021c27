package dev.loupe.weights.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesNestedObjectsInDocumentOrderWithTypedScalars() {
        Object v = Json.parse(" {\"z\": 1, \"a\": [true, false, null, -0.5e1, \"s\"], \"m\": {}}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("z", "a", "m"), List.copyOf(m.keySet()));
        assertEquals(1L, m.get("z"));
        List<?> a = (List<?>) m.get("a");
        assertEquals(Boolean.TRUE, a.get(0));
        assertEquals(Boolean.FALSE, a.get(1));
        assertNull(a.get(2));
        assertEquals(-5.0, a.get(3));
        assertEquals("s", a.get(4));
        assertEquals(Map.of(), m.get("m"));
    }

    @Test
    void integersAreLongsUnlessTheyOverflowAndFractionsAreDoubles() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(-42L, Json.parse("-42"));
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808"));
        assertEquals(1e-5, Json.parse("1e-5"));
        assertEquals(0.0, Json.parse("0.0"));
        assertEquals(1.0E300, Json.parse("1E+300"));
    }

    @Test
    void decodesEscapesIncludingSurrogatePairs() {
        // U+1F600 is the pair D83D DE00; U+00E9 is é
        assertEquals("a\"b\\c/\b\f\n\r\t\u00e9\uD83D\uDE00", Json.parse("\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00E9\\ud83d\\ude00\""));
        assertEquals("😀 raw", Json.parse("\"😀 raw\""));
        assertEquals("\uD800", Json.parse("\"\\uD800\""), "lone surrogates survive as they are");
    }

    @Test
    void skipsALeadingByteOrderMark() {
        assertEquals(List.of(1L), Json.parse("\uFEFF[1]"));
    }

    @Test
    void malformedInputIsRejectedWithLineAndColumn() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\n  \"a\": 1,\n  \"b\": tru\n}"));
        assertEquals(3, e.line());
        assertEquals(8, e.column());
        assertTrue(e.getMessage().contains("line 3, column 8"), e.getMessage());
        for (String bad : List.of("", "[1,]", "{\"a\":1,}", "01", "1.", "-", ".5", "NaN", "[1 2]", "{\"a\" 1}",
                "{a:1}", "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"tab\there\"", "[1] x", "// c\n1",
                "{\"k\":1,\"k\":2}", "tRUE", "[", "{")) {
            assertThrows(JsonException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void duplicateKeyErrorNamesTheKey() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\"w\": 1, \"w\": 2}"));
        assertTrue(e.getMessage().contains("duplicate key \"w\""), e.getMessage());
    }

    @Test
    void nestingBeyondTheDepthLimitIsRejectedWithoutStackOverflow() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Json.parse(ok);
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting deeper than " + Json.MAX_DEPTH), e.getMessage());
    }

    @Test
    void writerEscapesWhatJsonRequiresAndRoundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"b\\n\n\u0001\u2028é😀");
        m.put("lone", "\uDC00");
        m.put("n", List.of(1, 2.5, -3L, true));
        m.put("f", new float[] {0.5f, 1f});
        m.put("i", new int[] {1, 2});
        m.put("null", null);
        String text = Json.write(m);
        assertEquals("{\"s\":\"q\\\"b\\\\n\\n\\u0001\\u2028é😀\",\"lone\":\"\\udc00\",\"n\":[1,2.5,-3,true],"
                + "\"f\":[0.5,1.0],\"i\":[1,2],\"null\":null}", text);
        Map<?, ?> back = (Map<?, ?>) Json.parse(text);
        assertEquals(m.get("s"), back.get("s"));
        assertEquals("\uDC00", back.get("lone"));
        assertEquals(List.of(1L, 2.5, -3L, true), back.get("n"));
    }

    @Test
    void prettyOutputIndentsByTwoSpaces() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", List.of(1, 2));
        m.put("b", Map.of());
        assertEquals("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}", Json.write(m, true));
    }

    @Test
    void writerRefusesNonFiniteNumbersAndUnknownTypes() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new float[] {Float.POSITIVE_INFINITY}));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)));
        assertEquals("[]", Json.write(Arrays.asList()));
    }
}
