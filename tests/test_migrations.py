"""The versioned schema: migrations build exactly what schema.py declares, and old databases upgrade in place."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, inspect, select

from bot.oncall.store import Claim, FollowStore
from bot.store import Database
from bot.store import migrations as m
from bot.store.feed_claims import FeedClaims
from bot.store.schema import feed_posts, feed_subscriptions, metadata, oncall_changes, oncall_follows
from tests.postgres import fresh_database


def shape(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability), keys and indexes as the database reports them."""
    insp = inspect(engine)
    found: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        if name == m.schema_migrations.name:
            continue
        found[name] = {
            "columns": {
                c["name"]: (str(c["type"].compile(engine.dialect)), c["nullable"]) for c in insp.get_columns(name)
            },
            "pk": tuple(insp.get_pk_constraint(name)["constrained_columns"]),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], (f.get("options") or {}).get("ondelete"))
                for f in insp.get_foreign_keys(name)
            ),
        }
    return found


def _url(kind: str, tmp_path: Path, name: str, server: str | None) -> Any:
    if kind == "sqlite":
        from contextlib import nullcontext

        return nullcontext(f"sqlite:///{tmp_path / name}")
    assert server is not None
    return fresh_database(server)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    with _url(request.param, tmp_path, "a.db", server) as a, _url(request.param, tmp_path, "b.db", server) as b:
        yield a, b


def test_migrations_build_exactly_the_declared_schema(two_databases: tuple[str, str]) -> None:
    migrated_url, declared_url = two_databases
    migrated, declared = create_engine(migrated_url), create_engine(declared_url)
    try:
        assert m.migrate(migrated, target=m.LATEST) == [mig.version for mig in m.MIGRATIONS]
        metadata.create_all(declared)
        got, want = shape(migrated), shape(declared)
        missing = sorted(set(want) - set(got))
        assert not missing, (
            f"schema.py declares {missing} but no migration creates them: append a Migration in bot/store/migrations.py"
        )
        for table in want:
            assert got[table] == want[table], f"migrations and schema.py disagree on {table}: add a migration"
    finally:
        migrated.dispose()
        declared.dispose()


def test_versions_are_consecutive_and_migrating_twice_does_nothing(database_url: str) -> None:
    assert [mig.version for mig in m.MIGRATIONS] == list(range(1, len(m.MIGRATIONS) + 1))
    db = Database(database_url)
    try:
        db.create_schema()
        assert m.migrate(db.engine) == []
        with db.engine.connect() as conn:
            assert m.applied_versions(conn) == {mig.version for mig in m.MIGRATIONS}
    finally:
        db.close()


def _add_feed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(feed_subscriptions).values(
                channel="C111", filters="{}", created_by="U111", created_at=datetime.now(UTC)
            )
        )


def _feed_channels(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row.channel for row in conn.execute(select(feed_subscriptions.c.channel))]


def test_a_database_from_before_versioning_is_adopted_and_keeps_its_rows(database_url: str) -> None:
    engine = create_engine(database_url)
    m._v1.create_all(engine)  # what Database.create_schema used to do, before schema_migrations existed
    _add_feed(engine)
    engine.dispose()
    db = Database(database_url)
    try:
        db.create_schema()
        assert _feed_channels(db.engine) == ["C111"]
        with db.engine.connect() as conn:
            assert m.applied_versions(conn) == {mig.version for mig in m.MIGRATIONS}
        assert {"digest_subscriptions", "digest_runs"} <= set(inspect(db.engine).get_table_names())
    finally:
        db.close()


def test_upgrading_from_version_1_keeps_rows(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert m.migrate(db.engine, target=1) == [1]
        _add_feed(db.engine)
        assert 2 in m.migrate(db.engine)
        assert _feed_channels(db.engine) == ["C111"]
    finally:
        db.close()


def test_feed_claims_made_before_owners_existed_count_as_posted(database_url: str) -> None:
    """Migration 11: claims from before it were handled by their replica, so no replica takes them over."""
    db = Database(database_url)
    try:
        m.migrate(db.engine, target=10)
        claimed = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
        with db.engine.begin() as conn:
            conn.execute(insert(feed_posts).values(backend="rootly", alert_id="a1", channel="C111", claimed_at=claimed))
        assert m.migrate(db.engine, target=11) == [11]
        with db.engine.connect() as conn:
            [row] = conn.execute(select(feed_posts)).all()
        posted = row.posted_at if row.posted_at.tzinfo else row.posted_at.replace(tzinfo=UTC)  # SQLite: naive UTC
        assert row.owner is None and posted == claimed
        assert FeedClaims(db.engine).stale(lease_seconds=0) == []
    finally:
        db.close()


def test_shift_change_claims_made_before_leases_count_as_posted(database_url: str) -> None:
    """Migration 12: claims from before it were posted (or lost) by their replica, so none is posted again."""
    db = Database(database_url)
    try:
        m.migrate(db.engine, target=11)
        claimed = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
        with db.engine.begin() as conn:
            follow = conn.execute(
                insert(oncall_follows).values(
                    channel="C111",
                    target_key="rootly:schedule:s1",
                    target_name="Primary",
                    mention=False,
                    state="{}",
                    created_by="U111",
                    created_at=claimed,
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(oncall_changes).values(follow_id=follow, change_key="k1", owner="old", claimed_at=claimed)
            )
        assert m.migrate(db.engine) == [12]
        with db.engine.connect() as conn:
            [row] = conn.execute(select(oncall_changes)).all()
        posted = row.posted_at if row.posted_at.tzinfo else row.posted_at.replace(tzinfo=UTC)  # SQLite: naive UTC
        assert posted == claimed
        assert FollowStore(db).claim_change(follow, "k1", "new", lease_seconds=1) is Claim.POSTED
    finally:
        db.close()


@pytest.mark.postgres
def test_replicas_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    engines = [create_engine(postgres_url) for _ in range(4)]
    applied: list[list[int]] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(len(engines))

    def start(engine: Engine) -> None:
        try:
            gate.wait(5)
            applied.append(m.migrate(engine))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for e in engines:
        e.dispose()
    assert errors == []
    assert sorted(v for versions in applied for v in versions) == [mig.version for mig in m.MIGRATIONS]
