"""inventory service_layer."""
