"""orders adapters."""
