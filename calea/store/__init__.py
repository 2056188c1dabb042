"""The append-only store: raw deliveries, index rows, content, Merkle logs."""
