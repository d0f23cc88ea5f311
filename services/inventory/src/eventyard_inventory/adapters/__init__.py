"""inventory adapters."""
