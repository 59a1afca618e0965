"""Engine set-up and health for the bot's database."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from bot.store.migrations import migrate
from bot.store.reconnect import CONNECT_TIMEOUT, retry_connections

log = logging.getLogger(__name__)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # pool_pre_ping replaces connections a database restart killed; a refused connect is retried briefly. A SQLite
        # file has no server to restart: a ping there is only a round trip more on every checkout (the ack path too).
        connect_args = {} if self.is_sqlite else {"connect_timeout": CONNECT_TIMEOUT}
        self.engine: Engine = create_engine(
            url, pool_pre_ping=not self.is_sqlite, future=True, connect_args=connect_args
        )
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            retry_connections(self.engine)

    def create_schema(self) -> None:
        """Bring the schema up to date through the versioned migrations (``bot/store/migrations.py``)."""
        migrate(self.engine)

    def ping(self) -> None:
        """Raises when the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers and the single writer work at once; busy_timeout makes writers wait instead of failing.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Each pooled connection keeps its own page cache (2 MiB by default), filled as the database grows: with the
    # pool's connections that was most of the bot's memory growth under steady load (bench/sustained.py). The
    # operating system caches the file anyway; 512 KiB a connection holds the hot pages of the bot's small tables.
    cursor.execute("PRAGMA cache_size=-512")
    cursor.close()
