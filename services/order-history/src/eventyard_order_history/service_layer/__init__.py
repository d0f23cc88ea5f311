"""order_history service_layer."""
