package dev.loupe.transformer.tokenizer;

import java.util.Arrays;
import java.util.Map;

/**
 * The vocabulary as a character trie with two roots, for WordPiece's greedy longest-match-first split: one root
 * spells whole tokens (matched at the start of a word), the other spells continuation tokens with their prefix
 * ({@code "##"}) removed (matched inside a word). One walk from a position finds the longest vocabulary entry
 * starting there in time proportional to its length, where the textbook loop builds and hashes every substring from
 * the longest down.
 *
 * <p>Edges live in one open-addressing hash table keyed by (node, UTF-16 unit). Immutable after construction.
 */
final class PieceTrie {
    private static final int WORD_ROOT = 0;
    private static final int CONTINUATION_ROOT = 1;
    private static final long EMPTY = -1L;

    private long[] keys;
    private int[] children;
    private int edgeCount;
    private int[] tokenAt;
    private int nodeCount;

    /**
     * @param vocab   token → id
     * @param prefix  the continuing-subword prefix, e.g. {@code "##"}; tokens starting with it also enter the
     *                continuation root without it
     */
    PieceTrie(Map<String, Integer> vocab, String prefix) {
        int chars = 0;
        for (String t : vocab.keySet()) chars += 2 * t.length();
        int capacity = Integer.highestOneBit(Math.max(16, chars * 2)) * 2;
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY);
        children = new int[capacity];
        tokenAt = new int[Math.max(16, chars + 2)];
        Arrays.fill(tokenAt, -1);
        nodeCount = 2;
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            String t = e.getKey();
            int id = e.getValue();
            if (t.isEmpty()) continue;
            insert(WORD_ROOT, t, 0, id);
            if (!prefix.isEmpty() && t.startsWith(prefix) && t.length() > prefix.length()) {
                insert(CONTINUATION_ROOT, t, prefix.length(), id);
            }
        }
    }

    /**
     * The longest vocabulary piece of {@code s} starting at {@code from} and ending at or before {@code to} on a code
     * point boundary, as {@code (end << 32) | id}; -1 when none. {@code continuation} selects the inside-a-word root.
     */
    long longestMatch(String s, int from, int to, boolean continuation) {
        int node = continuation ? CONTINUATION_ROOT : WORD_ROOT;
        long best = -1;
        for (int i = from; i < to; i++) {
            node = child(node, s.charAt(i));
            if (node < 0) break;
            int id = tokenAt[node];
            // A match ending between the halves of a surrogate pair would split a character.
            if (id >= 0 && (i + 1 == to || !Character.isLowSurrogate(s.charAt(i + 1)))) {
                best = ((long) (i + 1) << 32) | id;
            }
        }
        return best;
    }

    private void insert(int root, String t, int from, int id) {
        int node = root;
        for (int i = from; i < t.length(); i++) {
            int next = child(node, t.charAt(i));
            if (next < 0) next = addChild(node, t.charAt(i));
            node = next;
        }
        tokenAt[node] = id;
    }

    private int child(int node, char c) {
        long key = ((long) node << 16) | c;
        int mask = keys.length - 1;
        for (int slot = hash(key) & mask; ; slot = (slot + 1) & mask) {
            long k = keys[slot];
            if (k == key) return children[slot];
            if (k == EMPTY) return -1;
        }
    }

    private int addChild(int node, char c) {
        if (2 * (edgeCount + 1) > keys.length) grow();
        if (nodeCount == tokenAt.length) {
            int old = tokenAt.length;
            tokenAt = Arrays.copyOf(tokenAt, old * 2);
            Arrays.fill(tokenAt, old, tokenAt.length, -1);
        }
        int created = nodeCount++;
        put(((long) node << 16) | c, created);
        edgeCount++;
        return created;
    }

    private void put(long key, int value) {
        int mask = keys.length - 1;
        int slot = hash(key) & mask;
        while (keys[slot] != EMPTY) slot = (slot + 1) & mask;
        keys[slot] = key;
        children[slot] = value;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldChildren = children;
        keys = new long[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        children = new int[keys.length];
        for (int i = 0; i < oldKeys.length; i++) if (oldKeys[i] != EMPTY) put(oldKeys[i], oldChildren[i]);
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }
}
