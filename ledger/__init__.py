"""The ledger domain: models, the journal, the audit chain and the services.

Services take a SQLAlchemy session, ``flush()`` and never commit: the caller (a web
request, a CLI command, a test) owns the transaction. Nothing here imports Flask.
"""
