"""Never twice: the declarations table and IncidentDeclarations.declare against a scripted Rootly client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.domain import Incident, NewIncident
from bot.incidents.service import LABEL_KEY, Declared, IncidentDeclarations, InProgress, Unconfirmed
from bot.incidents.store import DeclarationStore, Status
from bot.store import Database
from bot.store.schema import declarations
from bot.support import errors


class ScriptedRootly:
    """Creates incidents in memory; ``failures`` are raised by the next creates (after creating, when asked)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.created: list[Incident] = []
        self.creates = 0
        self.failures: list[tuple[errors.BackendError, bool]] = []  # (error, created anyway)
        self._lock = threading.Lock()

    def create_incident(self, new: NewIncident) -> Incident:
        time.sleep(self.delay)
        with self._lock:
            self.creates += 1
            failure = self.failures.pop(0) if self.failures else None
            if failure is None or failure[1]:
                self.created.append(
                    Incident(
                        id=f"i{len(self.created) + 1}",
                        title=new.title,
                        sequential_id=len(self.created) + 1,
                        labels=new.labels,
                    )
                )
        if failure is not None:
            raise failure[0]
        return self.created[-1]

    def list_incidents(self, *, label: tuple[str, str] | None = None, **_: Any) -> list[Incident]:
        return [i for i in self.created if label in i.labels]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DeclarationStore]:
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    db.create_schema()
    yield DeclarationStore(db)
    db.close()


def service(rootly: ScriptedRootly, store: DeclarationStore, **kw: Any) -> IncidentDeclarations:
    kw.setdefault("sleep", lambda _: None)
    return IncidentDeclarations(rootly, store, None, None, None, None, **kw)  # type: ignore[arg-type]


DRAFT = NewIncident(title="DB down")


def test_many_concurrent_declarations_of_one_source_create_one_incident(store: DeclarationStore) -> None:
    rootly = ScriptedRootly(delay=0.2)
    declare = service(rootly, store, sleep=time.sleep)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(declare.declare("thread:C1:1.1", DRAFT, f"U{i}", f"V{i}")))
        for i in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rootly.creates == 1
    assert all(isinstance(r, Declared) and r.incident.id == "i1" for r in results)
    assert sum(r.announce for r in results) == 1
    found = store.get("thread:C1:1.1")
    assert found is not None and found.status is Status.DECLARED and found.incident is not None
    assert found.incident.sequential_id == 1


def test_a_timeout_that_created_it_is_found_by_its_label(store: DeclarationStore) -> None:
    rootly = ScriptedRootly()
    rootly.failures.append((errors.Unavailable("timeout", ambiguous=True), True))
    outcome = service(rootly, store).declare("view:V1", DRAFT, "U1", "V1")
    assert isinstance(outcome, Declared) and outcome.announce and outcome.incident.id == "i1"
    assert rootly.creates == 1 and dict(rootly.created[0].labels)[LABEL_KEY]


def test_a_timeout_that_created_nothing_is_retried_only_after_looking(store: DeclarationStore) -> None:
    rootly = ScriptedRootly()
    rootly.failures.append((errors.Unavailable("dropped", ambiguous=True), False))
    declare = service(rootly, store)
    assert declare.declare("view:V1", DRAFT, "U1", "V1") == Unconfirmed(checked=True)
    row = store.get("view:V1")
    assert row is not None and row.status is Status.UNCONFIRMED
    outcome = declare.declare("view:V1", DRAFT, "U1", "V1")
    assert isinstance(outcome, Declared) and rootly.creates == 2 and len(rootly.created) == 1
    assert dict(rootly.created[0].labels)[LABEL_KEY] == row.token  # the retry carries the first attempt's marker


def test_a_certain_failure_releases_the_source(store: DeclarationStore) -> None:
    rootly = ScriptedRootly()
    rootly.failures.append((errors.Invalid("Severity must exist"), False))
    declare = service(rootly, store)
    with pytest.raises(errors.Invalid):
        declare.declare("alert:rootly:a1", DRAFT, "U1", "V1")
    assert store.get("alert:rootly:a1") is None
    assert isinstance(declare.declare("alert:rootly:a1", DRAFT, "U1", "V1"), Declared)


def test_someone_else_declaring_right_now_is_reported(store: DeclarationStore) -> None:
    assert store.claim("thread:C1:1.1", "U9", "tok", "V9") is None
    outcome = service(ScriptedRootly(), store, sleep=time.sleep, wait_for_other=0.3).declare(
        "thread:C1:1.1", DRAFT, "U1", "V1"
    )
    assert outcome == InProgress("U9")


def test_a_stale_claim_is_checked_then_taken_over(store: DeclarationStore) -> None:
    rootly = ScriptedRootly()
    assert store.claim("thread:C1:1.1", "U9", "tok", "V9") is None
    with store.engine.begin() as conn:  # its replica died a while ago
        conn.execute(update(declarations).values(claimed_at=datetime.now(UTC) - timedelta(minutes=5)))
    # It had in fact created the incident before dying: found, not created again.
    rootly.created.append(Incident(id="i0", title="DB down", labels=((LABEL_KEY, "tok"),)))
    outcome = service(rootly, store).declare("thread:C1:1.1", DRAFT, "U1", "V1")
    assert isinstance(outcome, Declared) and outcome.incident.id == "i0" and rootly.creates == 0


def test_take_over_is_won_once(store: DeclarationStore) -> None:
    store.claim("k", "U1", "tok", None)
    store.mark_unconfirmed("k", 1)
    found = store.get("k")
    assert found is not None
    assert store.take_over(found, "U2", "V2") is True
    assert store.take_over(found, "U3", "V3") is False
    now = store.get("k")
    assert now is not None and (now.owner, now.attempt, now.status, now.token) == ("U2", 2, Status.PENDING, "tok")
    store.release("k", 1)  # an old attempt cannot release the new one
    assert store.get("k") is not None
    store.complete("k", replace(Incident(id="i1", title="t"), sequential_id=7))
    store.release("k", 2)  # nor can anything release a declared one
    declared = store.get("k")
    assert declared is not None and declared.status is Status.DECLARED and declared.incident is not None
