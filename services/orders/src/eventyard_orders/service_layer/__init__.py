"""orders service_layer."""
