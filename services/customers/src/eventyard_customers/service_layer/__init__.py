"""customers service_layer."""
