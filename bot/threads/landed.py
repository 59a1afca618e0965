"""Did a note whose write went unanswered land anyway? A timeout on ``createAlertEvent`` may come after Rootly
wrote the note; trying again, or queueing, without looking first would put it on the alert twice.

The alert's notes (``listAlertEvents``, ``filter[kind]=note``; ilert: the alert's comments) are read and one with
the same text, by the same author, written since the attempt began, is taken for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.backends import Backends
from bot.domain import AlertRef, Note
from bot.domain.results import ActionResult, Verb
from bot.services.alert_actions import note_details
from bot.services.people import People

# Clock skew between the bot and the backend: a note stamped this much before the attempt may still be this one.
CLOCK_SKEW = timedelta(minutes=2)


class LandedNotes:
    def __init__(self, backends: Backends, people: People) -> None:
        self.backends = backends
        self.people = people

    def find(
        self, ref: AlertRef, slack_user_id: str, text: str, user_name: str | None, since: datetime
    ) -> ActionResult | None:
        """The note as the person's earlier attempt wrote it, with the alert as it is now; None when not there.
        Raises the backend's errors when the notes cannot be read (the caller then queues, to be checked later)."""
        backend = self.backends.get(ref.backend)
        actor = self.people.actor(slack_user_id, backend, user_name)
        wanted = note_details(text, actor).strip()
        author = actor.backend_user.id if actor.backend_user is not None else None
        found = next((n for n in backend.notes(ref.id) if _same(n, wanted, author, since - CLOCK_SKEW)), None)
        if found is None:
            return None
        warnings: tuple[str, ...] = ()
        if actor.backend_user is None:
            warnings = (f"Your name is not attached as the author: {actor.unmatched_reason}.",)
        alert = backend.get_alert(ref.id)
        return ActionResult(Verb.NOTE, alert, actor, datetime.now(UTC), done=True, note=found, warnings=warnings)


def _same(note: Note, wanted: str, author: str | None, since: datetime) -> bool:
    """Same words and same author. Without a backend user the note is the API key's, signed with the person's name
    in its text, so the text alone says who wrote it."""
    if note.details.strip() != wanted:
        return False
    if author is not None and note.author_id is not None and str(note.author_id) != str(author):
        return False  # (a backend that does not say who wrote a note leaves the words to decide)
    created = note.created_at
    return created is None or (created if created.tzinfo else created.replace(tzinfo=UTC)) >= since
