"""Tables, declared once with SQLAlchemy Core; each feature adds its own here."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
