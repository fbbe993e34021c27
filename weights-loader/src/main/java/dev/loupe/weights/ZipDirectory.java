package dev.loupe.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The entries of a zip archive (with ZIP64), read from its central directory, with where each entry's data starts,
 * so that a STORED entry (the way {@code torch.save} writes tensors) is mapped in place instead of extracted.
 * {@link java.util.zip.ZipFile} does not expose data offsets, hence this small reader.
 *
 * <p>Every offset and length read from the archive is bounds-checked; an inconsistent archive throws
 * {@link WeightFileException}. Only STORED and DEFLATED entries are readable.
 */
final class ZipDirectory {
    static final int STORED = 0, DEFLATED = 8;
    private static final long EOCD_SIG = 0x06054b50L, ZIP64_LOCATOR_SIG = 0x07064b50L, ZIP64_EOCD_SIG = 0x06064b50L,
            CENTRAL_SIG = 0x02014b50L, LOCAL_SIG = 0x04034b50L;
    private static final long MASK32 = 0xFFFFFFFFL;

    /** One entry; {@code dataOffset} is where its (possibly compressed) bytes begin in the file. */
    record Entry(String name, int method, long compressedSize, long size, long dataOffset) {}

    private final MappedFile file;
    private final Map<String, Entry> entries;

    private ZipDirectory(MappedFile file, Map<String, Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    static ZipDirectory read(MappedFile f) throws WeightFileException {
        long eocd = findEndOfCentralDirectory(f);
        long count = f.u16(eocd + 10, "zip entry count");
        long cdSize = f.u32(eocd + 12, "zip central directory size");
        long cdOffset = f.u32(eocd + 16, "zip central directory offset");
        if (count == 0xFFFF || cdSize == MASK32 || cdOffset == MASK32) {
            // ZIP64: the real values are in the ZIP64 end record, found through the locator just before.
            long locator = eocd - 20;
            if (locator < 0 || f.u32(locator, "zip64 locator") != ZIP64_LOCATOR_SIG) {
                throw new WeightFileException(f.path(), "zip end record has ZIP64 markers but no ZIP64 locator");
            }
            long rec = f.u64(locator + 8, "zip64 end record offset");
            if (f.u32(rec, "zip64 end record") != ZIP64_EOCD_SIG) {
                throw new WeightFileException(f.path(), "zip64 end record signature missing at " + rec);
            }
            count = f.u64(rec + 32, "zip64 entry count");
            cdSize = f.u64(rec + 40, "zip64 central directory size");
            cdOffset = f.u64(rec + 48, "zip64 central directory offset");
        }
        f.slice(cdOffset, cdSize, "zip central directory"); // bounds check once
        if (count > cdSize / 46) throw new WeightFileException(f.path(), "zip entry count " + count + " is corrupt");

        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = cdOffset;
        for (long i = 0; i < count; i++) {
            if (f.u32(p, "zip central header") != CENTRAL_SIG) {
                throw new WeightFileException(f.path(), "zip central directory is corrupt at byte " + p);
            }
            int method = f.u16(p + 10, "zip method");
            long csize = f.u32(p + 20, "zip sizes"), size = f.u32(p + 24, "zip sizes");
            int nameLen = f.u16(p + 28, "zip name"), extraLen = f.u16(p + 30, "zip extra"),
                    commentLen = f.u16(p + 32, "zip comment");
            long local = f.u32(p + 42, "zip local header offset");
            String name = new String(f.copy(p + 46, nameLen, "zip entry name"), StandardCharsets.UTF_8);
            // ZIP64 extra field (id 1): 8-byte values for exactly those fields that were 0xFFFFFFFF, in this order.
            long e = p + 46 + nameLen, extraEnd = e + extraLen;
            while (e + 4 <= extraEnd) {
                int id = f.u16(e, "zip extra"), len = f.u16(e + 2, "zip extra");
                long q = e + 4;
                if (id == 1) {
                    if (size == MASK32) { size = f.u64(q, "zip64 size"); q += 8; }
                    if (csize == MASK32) { csize = f.u64(q, "zip64 size"); q += 8; }
                    if (local == MASK32) { local = f.u64(q, "zip64 offset"); }
                }
                e += 4 + len;
            }
            if (f.u32(local, "zip local header of " + name) != LOCAL_SIG) {
                throw new WeightFileException(f.path(), "zip local header of '" + name + "' missing at " + local);
            }
            long data = local + 30 + f.u16(local + 26, "zip local name") + f.u16(local + 28, "zip local extra");
            f.slice(data, csize, "zip entry '" + name + "'");
            if (entries.put(name, new Entry(name, method, csize, size, data)) != null) {
                throw new WeightFileException(f.path(), "zip holds two entries named '" + name + "'");
            }
            p += 46 + nameLen + extraLen + commentLen;
        }
        return new ZipDirectory(f, entries);
    }

    /** The end record is the last 22+ bytes; a comment of up to 64 KB may follow it, so search backwards. */
    private static long findEndOfCentralDirectory(MappedFile f) throws WeightFileException {
        long min = Math.max(0, f.size() - 22 - 0xFFFF);
        for (long p = f.size() - 22; p >= min; p--) {
            if (f.u32(p, "zip end record") == EOCD_SIG) return p;
        }
        throw new WeightFileException(f.path(), "no zip end-of-central-directory record: truncated archive");
    }

    /**
     * The uncompressed bytes of {@code e}: a slice of the mapping when STORED, else a heap copy inflated from it.
     * Throws when the entry does not inflate to its declared size.
     */
    MemorySegment bytes(Entry e) throws WeightFileException {
        MemorySegment raw = file.slice(e.dataOffset(), e.compressedSize(), "zip entry '" + e.name() + "'");
        if (e.method() == STORED) {
            if (e.size() != e.compressedSize()) {
                throw new WeightFileException(file.path(), "zip entry '" + e.name() + "' is stored with two sizes");
            }
            return raw;
        }
        if (e.method() != DEFLATED) {
            throw new WeightFileException(file.path(), "zip entry '" + e.name() + "' uses compression method "
                    + e.method() + "; only stored and deflated entries are supported");
        }
        if (e.size() > Integer.MAX_VALUE - 8) {
            throw new WeightFileException(file.path(), "zip entry '" + e.name() + "' is compressed and over 2 GB; "
                    + "re-save it uncompressed (torch.save does) or as safetensors");
        }
        byte[] out = new byte[(int) e.size()];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(raw.asByteBuffer());
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int k = inf.inflate(out, n, out.length - n);
                if (k == 0) break; // needs input it will never get (truncated) or a dictionary
                n += k;
            }
            if (n != out.length) {
                throw new WeightFileException(file.path(), "zip entry '" + e.name() + "' inflates to " + n
                        + " bytes, not its declared " + out.length);
            }
        } catch (DataFormatException ex) {
            throw new WeightFileException(file.path(), "zip entry '" + e.name() + "' is corrupt", ex);
        } finally {
            inf.end();
        }
        return MemorySegment.ofArray(out);
    }

    /** The uncompressed bytes of {@code e} on the heap (for small entries such as the pickle). */
    byte[] heapBytes(Entry e) throws WeightFileException {
        if (e.size() > Integer.MAX_VALUE - 8) {
            throw new WeightFileException(file.path(), "zip entry '" + e.name() + "' is too large to read");
        }
        return bytes(e).toArray(ValueLayout.JAVA_BYTE);
    }
}
