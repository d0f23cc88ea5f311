"""order_history adapters."""
