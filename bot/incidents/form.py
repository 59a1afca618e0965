"""Reading the incident modal back: its ``private_metadata`` (where it was opened), its state (what was typed and
picked), and which field a Rootly refusal belongs to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.domain import AlertRef, CatalogKind, NewIncident
from bot.incidents.modal import FIELDS, FormValues
from bot.incidents.service import Origin, Source
from bot.render.ids import Action, Block
from bot.render.pickers import Choice
from bot.support import errors

_METADATA_TEXT_MAX = 300


@dataclass(frozen=True)
class Meta:
    """What the modal remembers about where it was opened (kept in ``private_metadata``, at most 3,000 chars)."""

    source: Source
    origin_text: str | None = None
    origin_url: str | None = None
    alert_label: str | None = None  # set when a Rootly alert can be attached

    def encode(self) -> str:
        s = self.source
        raw = {
            "o": s.origin.value,
            "c": s.channel,
            "t": s.thread_ts,
            "a": s.alert.encode() if s.alert else None,
            "s": 1 if s.separate else 0,
            "x": (self.origin_text or "")[:_METADATA_TEXT_MAX] or None,
            "u": self.origin_url if self.origin_url and len(self.origin_url) <= 1000 else None,
            "l": (self.alert_label or "")[:64] or None,
        }
        return json.dumps({k: v for k, v in raw.items() if v not in (None, "")}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Meta:
        """Raises ValueError for metadata the bot did not write."""
        try:
            raw = json.loads(text or "")
            origin = Origin(raw["o"])
            alert = AlertRef.decode(raw["a"]) if raw.get("a") else None
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not incident modal metadata: {text[:80]!r}") from exc
        source = Source(origin, raw.get("c"), raw.get("t"), alert, bool(raw.get("s")))
        return cls(source, raw.get("x"), raw.get("u"), raw.get("l"))

    def separate(self) -> Meta:
        """The same place, for an incident declared deliberately beside the existing one."""
        s = self.source
        return Meta(Source(s.origin, s.channel, s.thread_ts, s.alert, True), self.origin_text, self.origin_url, None)


def _choices(state: dict[str, Any]) -> tuple[Choice, ...]:
    picked = state.get("selected_options")
    if picked is None:
        single = state.get("selected_option")
        picked = [single] if single else []
    found = []
    for item in picked:
        if isinstance(item, dict) and item.get("value"):
            text = item.get("text")
            label = text.get("text") if isinstance(text, dict) else text
            found.append(Choice(str(item["value"]), str(label or item["value"])))
    return tuple(found)


def read_form(values: dict[str, Any]) -> FormValues:
    """The view's ``state.values`` as :class:`FormValues`; missing blocks read as empty."""

    def state(block: Block, action: Action) -> dict[str, Any]:
        found = (values.get(block.value) or {}).get(action.value)
        return found if isinstance(found, dict) else {}

    picked: dict[CatalogKind, tuple[Choice, ...]] = {}
    for spec in FIELDS:
        choices = _choices(state(spec.block, spec.action))
        if choices:
            picked[spec.kind] = choices
    parent = _choices(state(Block.INCIDENT_PARENT, Action.INCIDENT_PARENT))
    alert = state(Block.INCIDENT_ALERT, Action.INCIDENT_ALERT)
    return FormValues(
        title=str(state(Block.INCIDENT_TITLE, Action.INCIDENT_TITLE).get("value") or ""),
        summary=str(state(Block.INCIDENT_SUMMARY, Action.INCIDENT_SUMMARY).get("value") or ""),
        picked=picked,
        parent=parent[0] if parent else None,
        private=bool(_choices(state(Block.INCIDENT_PRIVATE, Action.INCIDENT_PRIVATE))),
        attach_alert=bool(_choices(alert)) if alert else False,
    )


def to_new_incident(form: FormValues, meta: Meta) -> NewIncident:
    def ids(kind: CatalogKind) -> tuple[str, ...]:
        return tuple(c.value for c in form.picked.get(kind, ()))

    severity = ids(CatalogKind.SEVERITIES)
    alert = meta.source.alert
    attach = form.attach_alert and meta.alert_label and alert is not None
    return NewIncident(
        title=" ".join(form.title.split()),
        summary=form.summary.strip() or None,
        severity_id=severity[0] if severity else None,
        incident_type_ids=ids(CatalogKind.INCIDENT_TYPES),
        service_ids=ids(CatalogKind.SERVICES),
        group_ids=ids(CatalogKind.TEAMS),
        environment_ids=ids(CatalogKind.ENVIRONMENTS),
        private=form.private,
        parent_incident_id=form.parent.value if form.parent else None,
        alert_ids=(alert.id,) if attach and alert else (),
    )


# Which block a Rootly message is about, by the words it uses (Rootly's 422 bodies name the attribute in prose:
# "Title is too long", "Unknown service", "Severity not found"). The first match wins; order matters.
_FIELD_WORDS: tuple[tuple[re.Pattern[str], Block], ...] = tuple(
    (re.compile(pattern, re.I), block)
    for pattern, block in (
        (r"\bparent|sub.?incident", Block.INCIDENT_PARENT),
        (r"\balert", Block.INCIDENT_ALERT),
        (r"\bseverit", Block.INCIDENT_SEVERITY),
        (r"\bincident.?types?\b|\btype_ids\b", Block.INCIDENT_TYPES),
        (r"\bservice", Block.INCIDENT_SERVICES),
        (r"\bteam|\bgroup", Block.INCIDENT_TEAMS),
        (r"\benvironment", Block.INCIDENT_ENVIRONMENTS),
        (r"\bprivate", Block.INCIDENT_PRIVATE),
        (r"\bsummary", Block.INCIDENT_SUMMARY),
        (r"\btitle", Block.INCIDENT_TITLE),
    )
)


def field_of(text: str) -> Block | None:
    for pattern, block in _FIELD_WORDS:
        if pattern.search(text):
            return block
    return None


def _ids_by_block(draft: NewIncident) -> dict[Block, tuple[str, ...]]:
    return {
        Block.INCIDENT_SEVERITY: (draft.severity_id,) if draft.severity_id else (),
        Block.INCIDENT_TYPES: draft.incident_type_ids,
        Block.INCIDENT_SERVICES: draft.service_ids,
        Block.INCIDENT_TEAMS: draft.group_ids,
        Block.INCIDENT_ENVIRONMENTS: draft.environment_ids,
        Block.INCIDENT_PARENT: (draft.parent_incident_id,) if draft.parent_incident_id else (),
        Block.INCIDENT_ALERT: draft.alert_ids,
    }


def field_errors(exc: errors.Invalid, present: set[str], draft: NewIncident | None = None) -> dict[str, str]:
    """Rootly's refusal as ``{block_id: message}`` for ``response_action: errors``, each part on the block it is
    about: the one its words name, else the one whose submitted id it quotes ("'3f2c…' does not exist"), else the
    title (always on the form, so no message is ever lost).
    """
    hinted = next((b for b in map(field_of, exc.fields) if b is not None), None)
    quoted = _ids_by_block(draft) if draft is not None else {}
    found: dict[str, str] = {}
    for part in [p.strip() for p in exc.message.split("; ") if p.strip()] or ["Rootly refused the incident."]:
        by_id = next((b for b, ids in quoted.items() if any(i and i in part for i in ids)), None)
        block = (field_of(part) or by_id or hinted or Block.INCIDENT_TITLE).value
        if block not in present:
            block = Block.INCIDENT_TITLE.value
        text = part[:1].upper() + part[1:]
        found[block] = f"{found[block]} {text}" if block in found else text
    return {block: message[:2000] for block, message in found.items()}
