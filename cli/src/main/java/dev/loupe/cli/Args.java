package dev.loupe.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --flag value} and {@code --switch} arguments of one command. Every problem is an
 * {@link IllegalArgumentException} with a one-line message naming the flag, which {@link Main} prints as a usage
 * error (exit code 2).
 */
final class Args {
    private final String command;
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    private Args(String command) {
        this.command = command;
    }

    /** True when {@code args} asks for the command's help text. */
    static boolean wantsHelp(List<String> args) {
        return args.contains("--help") || args.contains("-h");
    }

    /**
     * @param valued   flags that take a value ({@code --top-k 5} or {@code --top-k=5}); may repeat
     * @param switches flags without a value
     */
    static Args parse(String command, List<String> args, Set<String> valued, Set<String> switches) {
        Args a = new Args(command);
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i), value = null;
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "' (loupe " + command
                        + " --help lists the flags)");
            }
            int eq = arg.indexOf('=');
            if (eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            }
            if (switches.contains(arg)) {
                if (value != null) throw new IllegalArgumentException(arg + " takes no value");
                a.values.computeIfAbsent(arg, k -> new ArrayList<>()).add("true");
            } else if (valued.contains(arg)) {
                if (value == null) {
                    if (i + 1 >= args.size()) throw new IllegalArgumentException(arg + " needs a value");
                    value = args.get(++i);
                }
                a.values.computeIfAbsent(arg, k -> new ArrayList<>()).add(value);
            } else {
                throw new IllegalArgumentException("unknown flag '" + arg + "' (loupe " + command
                        + " --help lists the flags)");
            }
        }
        return a;
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    /** The last value of {@code flag}, or null. */
    String get(String flag) {
        List<String> v = values.get(flag);
        return v == null ? null : v.get(v.size() - 1);
    }

    /** Every value of a repeatable flag, in order. */
    List<String> all(String flag) {
        return values.getOrDefault(flag, List.of());
    }

    String require(String flag) {
        String v = get(flag);
        if (v == null) throw new IllegalArgumentException(flag + " is required (loupe " + command + " --help)");
        return v;
    }

    int intValue(String flag, int fallback, int min) {
        String v = get(flag);
        if (v == null) return fallback;
        try {
            int x = Integer.parseInt(v.strip());
            if (x < min) throw new IllegalArgumentException(flag + " must be >= " + min + ", got " + x);
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " expects an integer but got '" + v + "'");
        }
    }

    long longValue(String flag, long fallback) {
        String v = get(flag);
        if (v == null) return fallback;
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " expects an integer but got '" + v + "'");
        }
    }

    float floatValue(String flag, float fallback) {
        String v = get(flag);
        if (v == null) return fallback;
        try {
            float x = Float.parseFloat(v.strip());
            if (!Float.isFinite(x)) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " expects a number but got '" + v + "'");
        }
    }
}
