"""customers entrypoints."""
