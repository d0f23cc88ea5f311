"""Pure logic: errors, values, canonical forms, references and compatibility messages."""
