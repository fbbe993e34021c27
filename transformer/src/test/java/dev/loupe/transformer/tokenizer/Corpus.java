package dev.loupe.transformer.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Test inputs for tokenizer parity: a hand-picked varied corpus and a seeded random fuzz. */
final class Corpus {
    private Corpus() {}

    /** Hand-picked strings covering the pre-tokenization pattern's branches and byte-level edge cases. */
    static List<String> varied() {
        List<String> c = new ArrayList<>(List.of(
                "", " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "\t\t x", "a", "A", "hello",
                "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
                "hello world   ", "trailing space ", "trailing spaces   ", "  leading spaces", "\tleading tab",
                "line one\nline two\n", "para one\n\npara two", "mixed \t\n whitespace \n\t runs",
                "Mr. Smith's car isn't here; they're gone, we've left, I'm sure you'll see, he'd know.",
                "IT'S LOUD, DON'T SHOUT, THEY'RE HERE, WE'VE SEEN, I'M OK, YOU'LL SEE, HE'D GO",
                "'s 't 're 've 'm 'll 'd", "'S'T'RE'VE'M'LL'D", "''s", "'", "''", "'''", "rock'n'roll", "o'clock",
                "don’t", "it’s curly", "I'd've", "y'all'd've",
                "0", "7", "42", "123", "1234", "12345", "3.14159", "2,718,281,828", "1e10", "-42", "+1 (555) 123-4567",
                "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679",
                "The year 2024 had 366 days.", "v1.2.3-beta", "0x7FFFFFFF", "100%", "$9.99", "#1", "a1b2c3",
                "...", "!!!", "?!?!", "---", "===", "***bold***", "~~~~", "<<>>", "()[]{}", "@#$%^&*", "..., ... ...",
                "a.b.c", "e.g. i.e. etc.", "\"quoted\"", "'single'", "`backtick`", "«guillemets»", "—em dash—",
                "foo_bar_baz", "camelCaseIdentifier", "SCREAMING_SNAKE_CASE", "kebab-case-name",
                "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
                "public static void main(String[] args) { System.out.println(\"hi\"); }",
                "if x != None and y >= 3:\n        pass", "SELECT * FROM users WHERE id = 1;",
                "<html><body class=\"x\">text</body></html>", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
                "https://example.com/path?query=1&other=two#frag", "user@example.com", "C:\\Program Files\\x",
                "#include <stdio.h>\nint main(void) { return 0; }\n", "    indented four", "\t\tindented tabs",
                "x = [i for i in range(10) if i % 2 == 0]", "λx. x + 1", "a -> b => c |> d", "/* comment */ // line",
                "café", "naïve résumé", "Zürich Straße", "crème brûlée", "São Paulo", "Ærøskøbing", "Łódź", "Dvořák",
                "Ελληνικά γράμματα", "Русский текст, привет!", "Українська мова", "Հայերեն", "ქართული",
                "日本語のテキスト", "東京タワー", "中文文本，你好！", "繁體中文字", "한국어 텍스트", "ひらがな カタカナ",
                "العربية نص", "مرحبا بالعالم", "עברית טקסט", "हिन्दी पाठ", "বাংলা", "தமிழ்", "ไทย ภาษา", "Tiếng Việt",
                "e\u0301", "a\u0308o\u0308u\u0308", "Z\u0351\u036B\u0343\u036A\u0302\u036B\u033D\u034F\u0334\u0319algo",
                "😀", "😀😃😄", "hello 😀 world", "👍🏽", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨‍👩‍👧‍👦", "👩‍💻 coding", "🏳️‍🌈", "🇯🇵🇺🇸",
                "❤️", "✨ sparkles ✨", "🤷‍♂️", "a😀b", "😀😀😀😀😀😀😀😀😀😀", "1️⃣2️⃣", "🧑🏿‍🚀",
                "\u00a0non-breaking\u00a0space", "\u2003em\u2003space", "ideographic\u3000space", "\u200bzero width",
                "\u200d", "\ufeffbom", "\u0085next line", "\u2028line sep\u2029para sep", "\u000b\u000c vt ff",
                "\u001c\u001d\u001e\u001f separators", "\u0000nul", "\u0007bell", "\u007fdel", "tab\there",
                "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math", "𝟘𝟙𝟚 digits", "٠١٢٣ arabic digits", "१२३ devanagari digits", "Ⅻ roman", "½ ¼ ¾",
                "²³ superscripts", "①②③", "€£¥₹", "™©®", "°C", "±×÷", "∑∫∂√∞", "←↑→↓", "♠♥♦♣", "\uFFFD replacement",
                "<|endoftext|>", "Hello<|endoftext|>world", "a <|endoftext|> b", "<|endoftext|><|endoftext|>",
                " <|endoftext|>", "<|endoftext|> ", "<|endoftext", "|endoftext|>", "<|endoftext|>\n\nNext doc",
                "<|endofprompt|>", "<|", "|>", "<||>"));
        c.add("a".repeat(1000));
        c.add("ab".repeat(500));
        c.add(" " + "z".repeat(300));
        c.add("Supercalifragilisticexpialidocious");
        c.add("Pneumonoultramicroscopicsilicovolcanoconiosis");
        c.add("antidisestablishmentarianism".repeat(20));
        c.add("9".repeat(500));
        c.add(" ".repeat(100) + "x");
        c.add("x" + " ".repeat(100));
        c.add("\n".repeat(50));
        c.add("!?".repeat(200));
        c.add("日本".repeat(200));
        c.add("😀".repeat(100));
        c.add("word ".repeat(200));
        c.add("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
                + "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.");
        String[] words = {"the", "The", "THE", "tokenizer", "GPT-2", "isn't", "3D", "α", "ß", "Ω", "中", "🙂", "...",
            "\n", "\t", "  ", "<|endoftext|>", "'ll", "42", "x_1"};
        Random rnd = new Random(7);
        for (int i = 0; i < 40; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + rnd.nextInt(12);
            for (int j = 0; j < n; j++) sb.append(rnd.nextBoolean() ? " " : "").append(words[rnd.nextInt(words.length)]);
            c.add(sb.toString());
        }
        return c;
    }

    /** Ranges random code points are drawn from: ASCII, Latin-1, combining marks, scripts, CJK, emoji and modifiers. */
    private static final int[][] RANGES = {
        {0x20, 0x7E}, {0x20, 0x7E}, {0x09, 0x0D}, {0x00, 0x1F}, {0x80, 0xFF}, {0x100, 0x24F}, {0x300, 0x36F},
        {0x370, 0x3FF}, {0x400, 0x4FF}, {0x590, 0x6FF}, {0x900, 0x97F}, {0xE00, 0xE7F}, {0x2000, 0x206F},
        {0x20A0, 0x22FF}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xFE00, 0xFE0F}, {0xFF00, 0xFFEF},
        {0x1F300, 0x1FAFF}, {0x1F3FB, 0x1F3FF}, {0x1D400, 0x1D7FF}, {0x10000, 0x10FFFF}
    };

    /** {@code count} random strings of valid code points (no lone surrogates), seeded for reproducibility. */
    static List<String> fuzz(long seed, int count) {
        Random rnd = new Random(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            StringBuilder sb = new StringBuilder();
            int len = rnd.nextInt(40);
            for (int j = 0; j < len; j++) {
                if (rnd.nextInt(10) == 0) {
                    sb.append(rnd.nextBoolean() ? ' ' : "'s'LL\u200d".charAt(rnd.nextInt(6)));
                    continue;
                }
                int[] r = RANGES[rnd.nextInt(RANGES.length)];
                int cp;
                do {
                    cp = r[0] + rnd.nextInt(r[1] - r[0] + 1);
                } while (cp >= 0xD800 && cp <= 0xDFFF);
                sb.appendCodePoint(cp);
            }
            out.add(sb.toString());
        }
        return out;
    }
}
