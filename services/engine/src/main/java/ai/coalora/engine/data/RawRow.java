package ai.coalora.engine.data;

/**
 * A row as found in a user file, before validation: the cell values (null when absent) and the line
 * it came from.
 */
record RawRow(long line, String text, String label, String split) {}
