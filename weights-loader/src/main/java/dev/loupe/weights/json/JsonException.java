package dev.loupe.weights.json;

/**
 * Malformed JSON text. The message ends with the line and column (both counted from 1, columns in UTF-16 chars) where
 * the parser stopped; readers of files wrap it in an exception naming the file.
 */
public final class JsonException extends IllegalArgumentException {
    private final int line;
    private final int column;

    public JsonException(String message, int line, int column) {
        super(message + " at line " + line + ", column " + column);
        this.line = line;
        this.column = column;
    }

    /** Line of the error, from 1. */
    public int line() {
        return line;
    }

    /** Column of the error, from 1. */
    public int column() {
        return column;
    }
}
