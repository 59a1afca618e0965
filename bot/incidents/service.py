"""Declaring a Rootly incident from Slack: prefilled, once per source, and announced where it started.

Never twice: each declaration is keyed by its source (``thread:<channel>:<thread_ts>``, ``alert:<backend>:<id>``,
or ``view:<view_id>`` for the slash command and for a deliberately separate incident) and claimed in the database
before ``POST /v1/incidents``, so a double submit, a second person on the same thread, or another replica finds the
first declaration instead of creating a second. The POST is never repeated blindly: the incident carries a label
with the claim's token, and after an ambiguous failure (a timeout) the bot looks for that label before it offers
to try again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.backends import Backends
from bot.backends.rootly_api import RootlyApi
from bot.domain import AlertRef, Backend, Incident, NewIncident
from bot.incidents import messages as incident_messages
from bot.incidents import prefill as incident_prefill
from bot.incidents.live import IncidentMessages
from bot.incidents.ports import Conversations, NotInChannel
from bot.incidents.prefill import Prefill
from bot.incidents.store import Declaration, DeclarationStore, Status
from bot.incidents.thread_copy import ThreadCopier, ThreadCopy
from bot.incidents.thread_text import ThreadMessage, slack_to_text
from bot.services.people import People
from bot.services.pickers import PickerSource
from bot.support import errors

log = logging.getLogger(__name__)

LABEL_KEY = "slack_declaration"  # label set on every incident the bot creates; its value is the claim's token
# A pending claim older than this lost its replica mid-request: longer than one Rootly request can take (timeout plus
# rate-limit budget), so a live attempt is never taken over.
STALE_AFTER = 120.0
WAIT_FOR_OTHER = 25.0  # how long a second submit waits for the first to finish before saying it is in progress
LOOKUP_DELAYS = (0.0, 1.0)  # Rootly may list a just-created incident a moment after creating it
_POLL = 0.2


class Origin(StrEnum):
    COMMAND = "command"
    MESSAGE = "message"
    ALERT = "alert"


@dataclass(frozen=True)
class Source:
    """Where a declaration started, which decides its key and where it is announced."""

    origin: Origin
    channel: str | None = None
    thread_ts: str | None = None  # the thread to reply in (and, for a message, to copy)
    alert: AlertRef | None = None
    separate: bool = False  # a second incident, declared deliberately: keyed by its modal, not by the thread

    @property
    def opening_key(self) -> str | None:
        """The key known before any modal exists: a thread's or an alert's (``None``: keyed by the modal)."""
        if self.separate:
            return None
        if self.origin is Origin.ALERT and self.alert is not None:
            return f"alert:{self.alert.encode()}"
        if self.origin is Origin.MESSAGE and self.channel and self.thread_ts:
            return f"thread:{self.channel}:{self.thread_ts}"
        return None

    def key(self, view_id: str) -> str:
        return self.opening_key or f"view:{view_id}"


@dataclass(frozen=True)
class Declared:
    incident: Incident
    owner: str  # the Slack user who declared it
    view_id: str | None  # the modal it was declared from
    announce: bool  # created (or confirmed) by this call: nobody has announced it yet


@dataclass(frozen=True)
class InProgress:
    owner: str


@dataclass(frozen=True)
class Unconfirmed:
    """Rootly did not confirm the POST and the incident could not be found (``checked``: the lookup ran)."""

    checked: bool


Outcome = Declared | InProgress | Unconfirmed


@dataclass(frozen=True)
class Announcement:
    posted: bool
    copy: ThreadCopy | None


def _now() -> datetime:
    return datetime.now(UTC)


class IncidentDeclarations:
    def __init__(
        self,
        rootly: RootlyApi,
        store: DeclarationStore,
        pickers: PickerSource,
        conversations: Conversations,
        people: People,
        backends: Backends,
        *,
        sleep: Callable[[float], None] = time.sleep,
        stale_after: float = STALE_AFTER,
        wait_for_other: float = WAIT_FOR_OTHER,
    ) -> None:
        self.rootly = rootly
        self.store = store
        self.pickers = pickers
        self.conversations = conversations
        self.people = people
        self.backends = backends
        self.sleep = sleep
        self.stale_after = stale_after
        self.wait_for_other = wait_for_other
        self.copier = ThreadCopier(rootly, conversations, self.user_name, sleep=sleep)
        self.live: IncidentMessages | None = None  # set when incidents can be worked from Slack: the live message

    def user_name(self, slack_user_id: str) -> str:
        return self.people.profile(slack_user_id).name

    # before the form -------------------------------------------------------------------------------------------
    def existing(self, source: Source) -> Declaration | None:
        """A declaration already made (or being made) from this thread or alert; unconfirmed ones do not count:
        submitting the form again checks Rootly for them first.
        """
        key = source.opening_key
        found = self.store.get(key) if key else None
        if found is None or found.status is Status.UNCONFIRMED:
            return None
        if found.status is Status.PENDING and self._stale(found):
            return None
        return found

    def prefill_message(self, channel: str, message: ThreadMessage) -> Prefill:
        author = message.author or (self.user_name(message.user_id) if message.user_id else "Someone")
        text = slack_to_text(message.text, user_name=self.user_name, channel_name=self.conversations.channel_name)
        name = self.conversations.channel_name(channel)
        return incident_prefill.from_message(
            text,
            author=author,
            channel=None if name == channel else name,
            permalink=self.conversations.permalink(channel, message.ts),
        )

    def prefill_alert(self, ref: AlertRef) -> Prefill:
        """Raises ``errors.BackendError`` when the alert cannot be read (the form then opens without it)."""
        alert = self.backends.get(ref.backend).get_alert(ref.id)
        return incident_prefill.from_alert(alert, attachable=ref.backend is Backend.ROOTLY)

    # declaring ---------------------------------------------------------------------------------------------------
    def declare(self, key: str, draft: NewIncident, owner: str, view_id: str | None) -> Outcome:
        """Create the incident unless ``key`` already has one. Raises ``errors.BackendError`` when Rootly certainly
        created nothing (refused, rate limited, down before the request landed): the claim is released then.
        """
        token = secrets.token_hex(8)
        found = self.store.claim(key, owner, token, view_id)
        attempt = 1
        deadline = time.monotonic() + self.wait_for_other
        while found is not None:
            if found.status is Status.DECLARED and found.incident is not None:
                return Declared(found.incident, found.owner, found.view_id, announce=False)
            if found.status is Status.PENDING and not self._stale(found):
                if time.monotonic() >= deadline:
                    return InProgress(found.owner)
                self.sleep(_POLL)
                found = self.store.get(key) or self.store.claim(key, owner, token, view_id)
                continue
            # Stale or unconfirmed: an earlier attempt may have created it after all.
            earlier, _ = self._lookup(found.token, found.claimed_at)
            if earlier is not None:
                self._record(key, earlier)
                return Declared(earlier, owner, view_id, announce=True)
            if self.store.take_over(found, owner, view_id):
                token, attempt = found.token, found.attempt + 1
                break
            found = self.store.get(key) or self.store.claim(key, owner, token, view_id)
        return self._create(key, attempt, token, draft, owner, view_id)

    def _create(
        self, key: str, attempt: int, token: str, draft: NewIncident, owner: str, view_id: str | None
    ) -> Outcome:
        started = _now()
        labelled = replace(draft, labels=(*draft.labels, (LABEL_KEY, token)))
        try:
            incident = self.rootly.create_incident(labelled)
        except errors.Unavailable as exc:
            if not exc.ambiguous:
                self.store.release(key, attempt)
                raise
            log.warning("creating an incident for %s was not confirmed (%s); looking it up", key, exc.message)
            found, checked = self._lookup(token, started)
            if found is None:
                self.store.mark_unconfirmed(key, attempt)
                return Unconfirmed(checked=checked)
            incident = found
        except errors.BackendError:
            self.store.release(key, attempt)
            raise
        except Exception:
            self.store.mark_unconfirmed(key, attempt)  # the next try looks it up before creating
            raise
        self._record(key, incident)
        return Declared(incident, owner, view_id, announce=True)

    def _lookup(self, token: str, since: datetime) -> tuple[Incident | None, bool]:
        """The incident carrying this claim's label, if Rootly has it; and whether Rootly answered the question."""
        answered = False
        for delay in LOOKUP_DELAYS:
            if delay:
                self.sleep(delay)
            try:
                found = self.rootly.list_incidents(
                    label=(LABEL_KEY, token), created_since=since - timedelta(minutes=10), limit=5
                )
            except errors.BackendError as exc:
                log.warning("could not look up incident %s: %s", token, exc.message)
                continue
            answered = True
            for incident in found:  # the label is checked here too, in case a filter was ignored
                if (LABEL_KEY, token) in incident.labels:
                    return incident, True
        return None, answered

    def _record(self, key: str, incident: Incident) -> None:
        try:
            self.store.complete(key, incident)
        except Exception:  # the incident exists; a later declaration finds it by its label once the claim is stale
            log.exception("incident %s was created but could not be recorded for %s", incident.label, key)

    def _stale(self, found: Declaration) -> bool:
        return (_now() - found.claimed_at).total_seconds() > self.stale_after

    # after -------------------------------------------------------------------------------------------------------
    def announce(self, source: Source, incident: Incident, actor: str) -> Announcement:
        """Reply where it started, tell the person, and copy the thread to the timeline. Never raises: the incident
        exists whatever Slack says, and every step that fails is logged and said in the reply where possible.
        """
        messages: list[ThreadMessage] = []
        copy: ThreadCopy | None = None
        if source.origin is Origin.MESSAGE and source.channel and source.thread_ts:
            try:
                messages, more = self.copier.read(source.channel, source.thread_ts)
                copy = ThreadCopy(total=len(messages), more=more)
            except NotInChannel as exc:
                copy = ThreadCopy(unreadable=str(exc) or "not_in_channel")
            except Exception:
                log.exception("could not read thread %s/%s", source.channel, source.thread_ts)
                copy = ThreadCopy(unreadable="unknown_error")
        ts = self._post(source, self._declared(incident, actor, copy, copying=bool(messages)))
        if ts and source.channel and self.live is not None:
            self.live.track(incident, source.channel, ts, _declared_stamp(actor))
        if source.channel:
            try:
                note = incident_messages.declared_ephemeral(incident, copy)
                self.conversations.ephemeral(source.channel, actor, note)
            except Exception as exc:
                log.info("could not tell %s about %s ephemerally: %s", actor, incident.label, exc)
        if messages:
            copy = self.copier.copy(incident.id, messages, more=bool(copy and copy.more))
            if ts and source.channel:
                try:
                    message = self._declared(incident, actor, copy, copying=False)
                    self.conversations.update(source.channel, ts, message)
                except Exception as exc:
                    log.info("could not update the reply about %s: %s", incident.label, exc)
        return Announcement(posted=ts is not None, copy=copy)

    def _declared(self, incident: Incident, actor: str, copy: ThreadCopy | None, *, copying: bool) -> dict:  # type: ignore[type-arg]
        """The reply where it started: the live incident message (with its buttons) when incidents can be worked
        from Slack, plus what happened to the thread."""
        declared = incident_messages.declared_message(incident, actor, copy=copy, copying=copying)
        if self.live is None:
            return declared
        message = self.live.message(incident, _declared_stamp(actor))
        message["blocks"] += declared["blocks"][1:]  # the thread copy's line, when there is one
        return message

    def _post(self, source: Source, message: dict) -> str | None:  # type: ignore[type-arg]
        if not source.channel:
            return None
        try:
            return self.conversations.post(source.channel, message, thread_ts=source.thread_ts)
        except Exception as exc:
            log.info("could not post the declaration of an incident in %s: %s", source.channel, exc)
            return None


def _declared_stamp(actor: str) -> str:
    return f"🚨 Declared by <@{actor}>"
