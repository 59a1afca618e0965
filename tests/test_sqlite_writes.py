"""SQLite writers of one process take turns on a lock (bot/store/db.py ``SerializedWrites``) instead of sleeping in
SQLite's busy handler; reads never wait on it, and every way a transaction ends gives the lock back."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.store import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'writes.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE items (key TEXT PRIMARY KEY)"))
    yield database
    database.close()


def count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM items")).scalar_one())


def test_a_burst_of_concurrent_writers_all_land(db: Database) -> None:
    def write(n: int) -> None:
        for i in range(10):
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO items (key) VALUES (:k)"), {"k": f"{n}-{i}"})

    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(write, range(24)))  # any "database is locked" would raise here
    assert count(db) == 240
    assert not db.writes.lock.locked()


def test_the_lock_is_held_from_the_first_write_to_the_commit_and_reads_do_not_wait(db: Database) -> None:
    with db.engine.connect() as writer:
        writer.execute(text("SELECT count(*) FROM items"))
        assert not db.writes.lock.locked()  # a read takes nothing
        writer.execute(text("INSERT INTO items (key) VALUES ('a')"))
        assert db.writes.lock.locked()
        assert count(db) == 0  # another connection reads (the last committed state) without waiting for the lock
        writer.commit()
        assert not db.writes.lock.locked()
    assert count(db) == 1


def test_a_failed_write_gives_the_lock_back(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO items (key) VALUES ('dup')"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO items (key) VALUES ('dup')"))
    assert not db.writes.lock.locked()
    with db.engine.connect() as conn:  # a transaction left open is rolled back when the connection goes back
        conn.execute(text("INSERT INTO items (key) VALUES ('left open')"))
    assert not db.writes.lock.locked()
    assert count(db) == 1
