"""Sessions: calls, recordings, message threads, IP flows and live monitoring built from
the stored records (see DESIGN.md, "sessions/")."""
