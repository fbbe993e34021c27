package dev.loupe.weights;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Interprets the pickle that {@code torch.save} writes ({@code data.pkl}, protocol 2; protocol 4 framing also
 * accepted) as plain data, executing nothing. It knows only the opcodes needed to build dicts, lists, tuples,
 * strings, numbers and tensors, and it resolves a {@code GLOBAL} only from a fixed allow-list:
 * {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter}
 * and the {@code torch.*Storage} type names used in persistent ids. "Calling" one of these (REDUCE) builds a Java
 * value ({@link LinkedHashMap}, {@link TensorRef}); nothing else can be called. Any other global — {@code os.system},
 * {@code builtins.eval}, {@code subprocess.Popen} — or any other opcode is refused with a
 * {@link WeightFileException}, before anything is returned.
 *
 * <p>Work is linear in the input: each opcode consumes at least one byte and lengths are checked against what is
 * left. Not thread-safe; one instance per pickle.
 */
final class RestrictedUnpickler {
    /** A pickled tuple (immutable, may hold nulls). */
    record Tuple(List<Object> items) {}

    /** An allow-listed global, as a value. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** A persistent-id storage reference: {@code ('storage', torch.<type>, key, location, numel)}. */
    record StorageRef(String type, String key, long numel) {}

    /** Arguments of {@code _rebuild_tensor_v2}: a view of {@code size} and {@code stride} at {@code offset}. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** Storage type names torch pickles in persistent ids, with their element sizes in bytes. */
    static final Map<String, Integer> STORAGE_TYPES = Map.ofEntries(
            Map.entry("FloatStorage", 4), Map.entry("HalfStorage", 2), Map.entry("BFloat16Storage", 2),
            Map.entry("DoubleStorage", 8), Map.entry("LongStorage", 8), Map.entry("IntStorage", 4),
            Map.entry("ShortStorage", 2), Map.entry("CharStorage", 1), Map.entry("ByteStorage", 1),
            Map.entry("BoolStorage", 1));

    private static final Set<String> CALLABLES = Set.of(
            "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter");

    private final byte[] data;
    private final Path file;
    private final String entry;
    private int pos;
    private int opStart;
    private final List<Object> stack = new ArrayList<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    RestrictedUnpickler(byte[] data, Path file, String entry) {
        this.data = data;
        this.file = file;
        this.entry = entry;
    }

    /** Runs the pickle to its STOP opcode and returns the value it built. */
    Object load() throws WeightFileException {
        while (true) {
            opStart = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > 5) throw error("pickle protocol " + v + " is not supported");
                }
                case 0x95 -> skip(8); // FRAME: a length hint only
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) throw error("STOP with a malformed stack");
                    return stack.get(0);
                }
                case '(' -> marks.push(stack.size()); // MARK
                case '}' -> push(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<Object>()); // EMPTY_LIST
                case ')' -> push(new Tuple(List.of())); // EMPTY_TUPLE
                case 't' -> push(new Tuple(popMark())); // TUPLE
                case 0x85 -> push(tuple(1)); // TUPLE1
                case 0x86 -> push(tuple(2)); // TUPLE2
                case 0x87 -> push(tuple(3)); // TUPLE3
                case 'X' -> push(utf8(u32())); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(u64())); // BINUNICODE8
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 'B' -> push(bytes(u32())); // BINBYTES
                case 'J' -> push((long) s32()); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) (u8() | (u8() << 8))); // BININT2
                case 0x8a -> push(long1()); // LONG1
                case 'G' -> push(Double.longBitsToDouble(be64())); // BINFLOAT
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 'N' -> push(null); // NONE
                case 's' -> { // SETITEM
                    Object v = pop(), k = pop();
                    dict(peek()).put(k, v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> kv = popMark();
                    if (kv.size() % 2 != 0) throw error("SETITEMS with an odd number of items");
                    Map<Object, Object> d = dict(peek());
                    for (int i = 0; i < kv.size(); i += 2) d.put(kv.get(i), kv.get(i + 1));
                }
                case 'a' -> { // APPEND
                    Object v = pop();
                    list(peek()).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                case 'q' -> memo.put((long) u8(), peek()); // BINPUT
                case 'r' -> memo.put(u32(), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(u32())); // LONG_BINGET
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop(), callable = pop();
                    push(reduce(callable, args));
                }
                case 'b' -> { // BUILD: only the OrderedDict attribute state torch adds (_metadata), which we drop
                    Object state = pop();
                    Object target = peek();
                    if (!(target instanceof Map<?, ?>)) {
                        throw error("BUILD on a " + typeName(target) + " is not something torch.save writes");
                    }
                    if (state != null && !(state instanceof Map<?, ?>)) throw error("BUILD with a non-dict state");
                }
                case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                default -> throw error(String.format("unsupported pickle opcode 0x%02x; pytorch .bin files may only "
                        + "rebuild tensors", op));
            }
        }
    }

    private Object global(String module, String name) throws WeightFileException {
        String q = module + "." + name;
        boolean storage = module.equals("torch") && STORAGE_TYPES.containsKey(name);
        if (!storage && !CALLABLES.contains(q)) {
            throw error("refuses to load global " + q + ": pytorch .bin files may only rebuild tensors");
        }
        return new Global(module, name);
    }

    private Object reduce(Object callable, Object args) throws WeightFileException {
        if (!(callable instanceof Global g) || !CALLABLES.contains(g.qualified())) {
            throw error("refuses to call " + (callable instanceof Global g2 ? g2.qualified() : typeName(callable))
                    + ": pytorch .bin files may only rebuild tensors");
        }
        if (!(args instanceof Tuple(List<Object> a))) throw error("REDUCE arguments are not a tuple");
        return switch (g.name()) {
            case "OrderedDict" -> {
                if (!a.isEmpty()) throw error("OrderedDict with constructor arguments");
                yield new LinkedHashMap<Object, Object>();
            }
            case "_rebuild_tensor_v2" -> {
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.size() < 4 || !(a.get(0) instanceof StorageRef s) || !(a.get(1) instanceof Long offset)) {
                    throw error("malformed _rebuild_tensor_v2 arguments");
                }
                yield new TensorRef(s, offset, longs(a.get(2), "size"), longs(a.get(3), "stride"));
            }
            case "_rebuild_parameter" -> {
                // (data, requires_grad, backward_hooks): a Parameter is its data for our purposes
                if (a.isEmpty() || !(a.get(0) instanceof TensorRef t)) throw error("malformed _rebuild_parameter");
                yield t;
            }
            default -> throw new IllegalStateException(g.qualified());
        };
    }

    private Object persistentLoad(Object pid) throws WeightFileException {
        if (!(pid instanceof Tuple(List<Object> t)) || t.size() != 5 || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof Global type) || !STORAGE_TYPES.containsKey(type.name())
                || !(t.get(2) instanceof String key) || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw error("persistent id is not a torch storage reference");
        }
        return new StorageRef(type.name(), key, numel);
    }

    private long[] longs(Object v, String what) throws WeightFileException {
        if (!(v instanceof Tuple(List<Object> items))) throw error("tensor " + what + " is not a tuple");
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof Long x)) throw error("tensor " + what + " holds a non-integer");
            out[i] = x;
        }
        return out;
    }

    // ---------------------------------------------------------------- stack

    private void push(Object v) {
        stack.add(v);
    }

    private Object pop() throws WeightFileException {
        int floor = marks.isEmpty() ? 0 : marks.peek();
        if (stack.size() <= floor) throw error("stack underflow");
        return stack.remove(stack.size() - 1);
    }

    private Object peek() throws WeightFileException {
        if (stack.isEmpty()) throw error("stack underflow");
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() throws WeightFileException {
        if (marks.isEmpty()) throw error("no MARK on the stack");
        int m = marks.pop();
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Tuple tuple(int n) throws WeightFileException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return new Tuple(Collections.unmodifiableList(java.util.Arrays.asList(items)));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object v) throws WeightFileException {
        if (v instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
        throw error("SETITEM on a " + typeName(v));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object v) throws WeightFileException {
        if (v instanceof ArrayList<?> l) return (List<Object>) l;
        throw error("APPEND on a " + typeName(v));
    }

    private Object memoGet(long key) throws WeightFileException {
        if (!memo.containsKey(key)) throw error("memo key " + key + " was never stored");
        return memo.get(key);
    }

    // ---------------------------------------------------------------- bytes

    private int u8() throws WeightFileException {
        need(1);
        return data[pos++] & 0xFF;
    }

    private int s32() throws WeightFileException {
        need(4);
        int v = (data[pos] & 0xFF) | (data[pos + 1] & 0xFF) << 8 | (data[pos + 2] & 0xFF) << 16 | data[pos + 3] << 24;
        pos += 4;
        return v;
    }

    private long u32() throws WeightFileException {
        return Integer.toUnsignedLong(s32());
    }

    private long u64() throws WeightFileException {
        long lo = u32(), hi = u32();
        if (hi != 0) throw error("length over 4 GB");
        return lo;
    }

    private long be64() throws WeightFileException {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | (data[pos++] & 0xFF);
        return v;
    }

    /** LONG1: a little-endian two's-complement integer of n bytes; up to 8 fit a long. */
    private long long1() throws WeightFileException {
        int n = u8();
        if (n > 8) throw error("integer of " + n + " bytes does not fit 64 bits");
        need(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (data[pos + i] & 0xFF);
        if (n > 0 && n < 8 && (data[pos + n - 1] & 0x80) != 0) v -= 1L << (8 * n); // sign-extend
        pos += n;
        return v;
    }

    private String utf8(long n) throws WeightFileException {
        byte[] b = bytes(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw error("string is not valid UTF-8");
        }
    }

    private byte[] bytes(long n) throws WeightFileException {
        need(n);
        byte[] b = java.util.Arrays.copyOfRange(data, pos, pos + (int) n);
        pos += (int) n;
        return b;
    }

    /** A GLOBAL operand: text up to a newline. */
    private String line() throws WeightFileException {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') pos++;
        if (pos >= data.length) throw error("truncated GLOBAL");
        String s = new String(data, start, pos - start, StandardCharsets.UTF_8);
        pos++;
        return s;
    }

    private void skip(long n) throws WeightFileException {
        need(n);
        pos += (int) n;
    }

    private void need(long n) throws WeightFileException {
        if (n < 0 || n > data.length - pos) throw error("truncated: needs " + n + " more bytes");
    }

    private WeightFileException error(String message) {
        return new WeightFileException(file, entry + " at byte " + opStart + ": " + message);
    }

    private static String typeName(Object v) {
        return v == null ? "None" : v.getClass().getSimpleName();
    }
}
