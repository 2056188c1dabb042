"""The audit log (rule C5): every request and every read of case data, hash-chained."""
