"""order_history."""
