"""The authorization gate: one pure decision per delivery (rules A1–A8, B3)."""
