"""The database: SQLAlchemy models, Alembic migrations (:mod:`.migrations`, applied by
:meth:`.db.Database.migrate`) and the stores, each returning plain records, never rows:
exchanges and alignments (:mod:`.store`), kept requests (:mod:`.work_store`), progress
(:mod:`.progress_store`), send claims (:mod:`.claims_store`) and app state. SQLite and
PostgreSQL alike; nothing here knows Slack."""
