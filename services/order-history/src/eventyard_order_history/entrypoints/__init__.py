"""order_history entrypoints."""
