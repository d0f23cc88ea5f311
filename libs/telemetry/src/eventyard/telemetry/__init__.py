"""OpenTelemetry setup and W3C trace context for Eventyard."""
