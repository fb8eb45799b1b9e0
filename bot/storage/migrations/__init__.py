"""Alembic migrations of the bot database (run by :func:`bot.storage.db.migrate`)."""
