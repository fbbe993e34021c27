package dev.loupe.transformer.tokenizer;

import java.util.Arrays;

/**
 * The BPE merge list as a map from an adjacent pair of token ids to (merge priority, merged token id): an
 * open-addressing long→long hash map, because a boxed {@code HashMap<Long, Long>} costs an allocation per lookup on the
 * encoder's hot loop. Built once while loading, then read-only and safe to share between threads.
 */
final class MergeTable {
    private static final long EMPTY = -1L;
    private long[] keys;
    private long[] values;
    private int size;

    MergeTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new long[cap];
        Arrays.fill(keys, EMPTY);
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 33) & mask;
    }

    /**
     * Records that {@code left right} merge into {@code merged} with {@code priority} (lower merges first). The first
     * entry for a pair wins: in {@code merges.txt} a repeated line never fires again after its first rank.
     */
    void put(int left, int right, int priority, int merged) {
        if (size * 2 >= keys.length) grow();
        long k = key(left, right);
        int mask = keys.length - 1;
        int i = slot(k, mask);
        while (keys[i] != EMPTY) {
            if (keys[i] == k) return;
            i = (i + 1) & mask;
        }
        keys[i] = k;
        values[i] = ((long) priority << 32) | (merged & 0xFFFFFFFFL);
        size++;
    }

    /** (priority << 32 | merged id) for the pair, or -1 when the pair never merges. */
    long get(int left, int right) {
        long k = key(left, right);
        int mask = keys.length - 1;
        int i = slot(k, mask);
        while (keys[i] != EMPTY) {
            if (keys[i] == k) return values[i];
            i = (i + 1) & mask;
        }
        return -1L;
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                put((int) (oldKeys[i] >>> 32), (int) oldKeys[i], (int) (oldValues[i] >>> 32), (int) oldValues[i]);
            }
        }
    }
}
