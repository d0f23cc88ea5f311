"""Pure logic: orders and their lines, the idempotency fingerprint, rejections, event payloads."""
