"""inventory entrypoints."""
