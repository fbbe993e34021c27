package dev.loupe.transformer.tokenizer;

import dev.loupe.transformer.tokenizer.WordPieceTokenizer.Spec;
import dev.loupe.transformer.tokenizer.WordPieceTokenizer.TemplatePiece;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Reads Hugging Face's WordPiece tokenizer files ({@code tokenizer.json}; {@code vocab.txt} + config) into a {@link Spec}. */
final class WordPieceFiles {
    private static final String[] ROLES = {"pad", "unk", "cls", "sep", "mask"};
    private static final Map<String, String> DEFAULT_NAMES =
            Map.of("pad", "[PAD]", "unk", "[UNK]", "cls", "[CLS]", "sep", "[SEP]", "mask", "[MASK]");

    private WordPieceFiles() {}

    static WordPieceTokenizer fromFolder(Path folder) throws IOException {
        Path json = folder.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) return fromTokenizerJson(Files.readString(json, StandardCharsets.UTF_8));
        Path vocabTxt = folder.resolve("vocab.txt");
        if (!Files.isRegularFile(vocabTxt)) {
            throw new NoSuchFileException(folder + ": no tokenizer.json or vocab.txt");
        }
        List<String> vocab = new ArrayList<>();
        // Hugging Face's reader trims trailing whitespace (a \r of Windows line ends) from each line.
        for (String line : Files.readAllLines(vocabTxt, StandardCharsets.UTF_8)) vocab.add(line.stripTrailing());
        Map<?, ?> config = Map.of();
        Path configJson = folder.resolve("tokenizer_config.json");
        if (Files.isRegularFile(configJson)) {
            config = object(Json.parse(Files.readString(configJson, StandardCharsets.UTF_8)), "tokenizer_config.json");
        }
        boolean lowercase = bool(config, "do_lower_case", true);
        boolean stripAccents = config.get("strip_accents") == null ? lowercase : bool(config, "strip_accents", true);
        boolean chinese = bool(config, "tokenize_chinese_chars", true);
        Map<String, String> names = new HashMap<>();
        for (String role : ROLES) {
            Object v = config.get(role + "_token");
            // A token is written as its text or as an AddedToken object with "content".
            if (v instanceof Map<?, ?> m) v = m.get("content");
            if (v instanceof String s) names.put(role, s);
        }
        return fromVocab(vocab, lowercase, stripAccents, chinese, names);
    }

    static WordPieceTokenizer fromVocab(List<String> vocabList, boolean lowercase, boolean stripAccents,
            boolean chinese, Map<String, String> names) {
        Map<String, String> roles = new HashMap<>(DEFAULT_NAMES);
        roles.putAll(names);
        Map<String, Integer> vocab = new HashMap<>(vocabList.size() * 2);
        // As a dictionary filled line by line: a repeated token keeps its last line's id.
        for (int i = 0; i < vocabList.size(); i++) vocab.put(vocabList.get(i), i);
        List<AddedTokens.Token> added = new ArrayList<>();
        for (String role : ROLES) {
            Integer id = vocab.get(roles.get(role));
            if (id != null) added.add(new AddedTokens.Token(roles.get(role), id, true, false));
        }
        Integer cls = vocab.get(roles.get("cls"));
        Integer sep = vocab.get(roles.get("sep"));
        if (cls == null || sep == null) {
            throw new IllegalArgumentException("vocabulary lacks " + (cls == null ? roles.get("cls") : roles.get("sep")));
        }
        BasicTokenizer basic = new BasicTokenizer(true, chinese, stripAccents, lowercase);
        return new WordPieceTokenizer(new Spec(vocab, roles.get("unk"), "##", 100, basic, added,
                bertTemplate(cls, sep, false), bertTemplate(cls, sep, true), true, roles));
    }

    /** [CLS] A [SEP] (type ids 0), or for a pair [CLS] A [SEP] B [SEP] with B and its [SEP] of type 1. */
    private static List<TemplatePiece> bertTemplate(int cls, int sep, boolean pair) {
        List<TemplatePiece> t = new ArrayList<>(List.of(TemplatePiece.special(cls, 0), TemplatePiece.sequence(0, 0),
                TemplatePiece.special(sep, 0)));
        if (pair) {
            t.add(TemplatePiece.sequence(1, 1));
            t.add(TemplatePiece.special(sep, 1));
        }
        return t;
    }

    static WordPieceTokenizer fromTokenizerJson(String text) {
        Map<?, ?> root = object(Json.parse(text), "tokenizer.json");
        Map<?, ?> model = object(root.get("model"), "model");
        if (!"WordPiece".equals(model.get("type"))) {
            throw new IllegalArgumentException("tokenizer.json: model type is " + model.get("type") + ", not WordPiece");
        }
        Map<String, Integer> vocab = TokenizerFiles.vocabMap(model.get("vocab"), "tokenizer.json model.vocab");
        String unk = string(model, "unk_token", "[UNK]");
        String prefix = string(model, "continuing_subword_prefix", "##");
        int maxChars = model.get("max_input_chars_per_word") == null ? 100
                : id(model.get("max_input_chars_per_word"), "model.max_input_chars_per_word");

        BasicTokenizer basic = new BasicTokenizer(false, false, false, false);
        if (root.get("normalizer") != null) {
            Map<?, ?> n = object(root.get("normalizer"), "normalizer");
            if (!"BertNormalizer".equals(n.get("type"))) {
                throw new IllegalArgumentException("tokenizer.json: normalizer " + n.get("type") + " is not supported "
                        + "(only BertNormalizer)");
            }
            boolean lowercase = bool(n, "lowercase", true);
            // strip_accents: null means "as lowercase", the rule of BERT's uncased models.
            boolean strip = n.get("strip_accents") == null ? lowercase : bool(n, "strip_accents", false);
            basic = new BasicTokenizer(bool(n, "clean_text", true), bool(n, "handle_chinese_chars", true), strip,
                    lowercase);
        }
        Object pre = root.get("pre_tokenizer") instanceof Map<?, ?> p ? p.get("type") : null;
        if (!"BertPreTokenizer".equals(pre)) {
            throw new IllegalArgumentException("tokenizer.json: pre_tokenizer " + pre + " is not supported "
                    + "(only BertPreTokenizer)");
        }

        List<AddedTokens.Token> added = new ArrayList<>();
        if (root.get("added_tokens") instanceof List<?> list) {
            for (Object o : list) {
                Map<?, ?> t = object(o, "added_tokens entry");
                added.add(new AddedTokens.Token(string(t, "content", null), id(t.get("id"), "added_tokens.id"),
                        bool(t, "special", false), bool(t, "normalized", false)));
            }
        }
        Map<String, String> names = new HashMap<>(DEFAULT_NAMES);
        names.put("unk", unk);
        if (root.get("padding") instanceof Map<?, ?> padding && padding.get("pad_token") instanceof String pad) {
            names.put("pad", pad);
        }
        List<TemplatePiece> single = List.of(TemplatePiece.sequence(0, 0));
        List<TemplatePiece> pair = List.of(TemplatePiece.sequence(0, 0), TemplatePiece.sequence(1, 1));
        if (root.get("post_processor") != null) {
            Map<?, ?> post = object(root.get("post_processor"), "post_processor");
            switch (String.valueOf(post.get("type"))) {
                case "BertProcessing" -> {
                    List<?> cls = (List<?>) post.get("cls");
                    List<?> sep = (List<?>) post.get("sep");
                    names.put("cls", (String) cls.get(0));
                    names.put("sep", (String) sep.get(0));
                    int clsId = id(cls.get(1), "post_processor.cls");
                    int sepId = id(sep.get(1), "post_processor.sep");
                    single = bertTemplate(clsId, sepId, false);
                    pair = bertTemplate(clsId, sepId, true);
                }
                case "TemplateProcessing" -> {
                    Map<?, ?> specials = object(post.get("special_tokens"), "post_processor.special_tokens");
                    single = template(post.get("single"), specials);
                    pair = template(post.get("pair"), specials);
                    String first = specialName(post.get("single"), 0);
                    String last = specialName(post.get("single"), -1);
                    if (first != null) names.put("cls", first);
                    if (last != null) names.put("sep", last);
                }
                default -> throw new IllegalArgumentException("tokenizer.json: post_processor " + post.get("type")
                        + " is not supported (only TemplateProcessing and BertProcessing)");
            }
        }
        boolean cleanup = true;
        if (root.get("decoder") instanceof Map<?, ?> d) {
            if (!"WordPiece".equals(d.get("type"))) {
                throw new IllegalArgumentException("tokenizer.json: decoder " + d.get("type") + " is not supported "
                        + "(only WordPiece)");
            }
            cleanup = bool(d, "cleanup", true);
        }
        return new WordPieceTokenizer(new Spec(vocab, unk, prefix, maxChars, basic, added, single, pair, cleanup,
                names));
    }

    /** A template's pieces: {"SpecialToken": {"id": name, "type_id": t}} or {"Sequence": {"id": "A"|"B", ...}}. */
    private static List<TemplatePiece> template(Object json, Map<?, ?> specials) {
        if (!(json instanceof List<?> list)) throw new IllegalArgumentException("tokenizer.json: template is not a list");
        List<TemplatePiece> out = new ArrayList<>();
        for (Object o : list) {
            Map<?, ?> piece = object(o, "template piece");
            if (piece.get("Sequence") instanceof Map<?, ?> s) {
                int which = switch (String.valueOf(s.get("id"))) {
                    case "A" -> 0;
                    case "B" -> 1;
                    default -> throw new IllegalArgumentException("tokenizer.json: template sequence " + s.get("id"));
                };
                out.add(TemplatePiece.sequence(which, id(s.get("type_id"), "type_id")));
            } else if (piece.get("SpecialToken") instanceof Map<?, ?> s) {
                Map<?, ?> special = object(specials.get(s.get("id")), "special_tokens." + s.get("id"));
                List<?> ids = (List<?>) special.get("ids");
                int[] array = new int[ids.size()];
                for (int i = 0; i < array.length; i++) array[i] = id(ids.get(i), "special_tokens ids");
                out.add(new TemplatePiece(-1, array, id(s.get("type_id"), "type_id")));
            } else {
                throw new IllegalArgumentException("tokenizer.json: template piece " + piece);
            }
        }
        return out;
    }

    /** The name of the special token at {@code index} (-1: last) of a template, or null if a sequence is there. */
    private static String specialName(Object json, int index) {
        List<?> list = (List<?>) json;
        if (list.isEmpty()) return null;
        Object piece = list.get(index < 0 ? list.size() - 1 : index);
        return piece instanceof Map<?, ?> m && m.get("SpecialToken") instanceof Map<?, ?> s
                && s.get("id") instanceof String name ? name : null;
    }

    private static Map<?, ?> object(Object json, String what) {
        if (json instanceof Map<?, ?> m) return m;
        throw new IllegalArgumentException("tokenizer.json: " + what + " is not an object: " + json);
    }

    private static int id(Object v, String what) {
        if (v instanceof Long l && l >= 0 && l <= Integer.MAX_VALUE) return l.intValue();
        throw new IllegalArgumentException(what + " is not a non-negative integer: " + v);
    }

    private static boolean bool(Map<?, ?> m, String key, boolean absent) {
        Object v = m.get(key);
        if (v == null) return absent;
        if (v instanceof Boolean b) return b;
        throw new IllegalArgumentException(key + " is not a boolean: " + v);
    }

    private static String string(Map<?, ?> m, String key, String absent) {
        Object v = m.get(key);
        if (v == null && absent != null) return absent;
        if (v instanceof String s) return s;
        throw new IllegalArgumentException(key + " is not a string: " + v);
    }
}
