"""Persistence adapters: the schema, the engine, the repositories.  The domain never imports this."""
