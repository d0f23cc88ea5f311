"""order_history domain."""
