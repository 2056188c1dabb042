"""The service layer: use cases over the domain, the database and the content store.

Entrypoints (web, cli, scheduler, intake) call these; these call the pure rules.
"""
