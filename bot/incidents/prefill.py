"""What the incident form starts with, from where it was opened: the command's text, a message, or an alert. Pure.

Titles respect Rootly's bound (:data:`bot.domain.limits.INCIDENT_TITLE_MAX`) and summaries Slack's
text-input bound, so nothing prefilled is refused or silently cut by either; where a summary must be cut, the
message text is cut and the author and permalink are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Alert
from bot.domain.limits import INCIDENT_TITLE_MAX, TEXT_INPUT_MAX
from bot.incidents.thread_text import bounded, title_from

SUMMARY_MAX = TEXT_INPUT_MAX
_ORIGIN_MAX = 150


@dataclass(frozen=True)
class Prefill:
    title: str = ""
    summary: str = ""
    origin: str | None = None  # where the form was opened from, in words ("Message from Alice in #ops")
    origin_url: str | None = None
    alert: Alert | None = None  # the alert to attach (Rootly's alerts only: alert_ids are Rootly ids)


def from_command(text: str | None) -> Prefill:
    return Prefill(title=bounded(" ".join((text or "").split()), INCIDENT_TITLE_MAX))


def from_message(text: str, *, author: str, channel: str | None, permalink: str | None) -> Prefill:
    """``text`` is already readable (mentions resolved: :func:`bot.incidents.thread_text.slack_to_text`)."""
    where = f" in #{channel}" if channel else ""
    head = f"{author} wrote{where}" + (f" ({permalink})" if permalink else "") + ":\n"
    body = text.strip()
    return Prefill(
        title=title_from(body, INCIDENT_TITLE_MAX),
        summary=head + bounded(body, max(0, SUMMARY_MAX - len(head))),
        origin=bounded(f"Message from {author}{where}", _ORIGIN_MAX),
        origin_url=permalink,
    )


def from_alert(alert: Alert, *, attachable: bool) -> Prefill:
    """The alert's summary as the title; its description and link as the summary."""
    tail = f"\n\nAlert {alert.label}: {bounded(alert.summary, 300)}" + (f"\n{alert.url}" if alert.url else "")
    description = (alert.description or "").strip()
    summary = bounded(description, max(0, SUMMARY_MAX - len(tail))) + tail if description else tail.strip()
    return Prefill(
        title=title_from(alert.summary, INCIDENT_TITLE_MAX) or alert.label,
        summary=bounded(summary, SUMMARY_MAX),
        origin=bounded(f"Alert {alert.label}: {alert.summary}", _ORIGIN_MAX),
        origin_url=alert.url,
        alert=alert if attachable else None,
    )
