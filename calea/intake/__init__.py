"""Carrier intake: listeners (asyncio glue) → pipeline (decode, dedupe, gate) → store."""
