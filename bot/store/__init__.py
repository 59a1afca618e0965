"""The bot's state in SQL (SQLAlchemy Core): SQLite by default, PostgreSQL when replicas share it."""

from bot.store.db import Database

__all__ = ["Database"]
