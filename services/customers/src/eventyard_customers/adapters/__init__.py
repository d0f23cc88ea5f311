"""customers adapters."""
