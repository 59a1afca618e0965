"""What the person is told after a command: results, refusals, errors and help, as ephemeral messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from bot.domain import Alert, AlertStatus, Triggered
from bot.domain.results import ActionResult, Queued, Verb
from bot.render.text import FALLBACK_TEXT_MAX, SECTION_TEXT_MAX, code, escape, link, slack_date, status_emoji, truncate
from bot.support import errors

Message = dict[str, Any]

PAST = {
    Verb.ACKNOWLEDGE: "Acknowledged",
    Verb.RESOLVE: "Resolved",
    Verb.NOTE: "Note added to",
    Verb.SNOOZE: "Snoozed",
    Verb.ESCALATE: "Escalated",
    Verb.NOISE: "Marked as noise",
    Verb.NOT_NOISE: "Marked as not noise",
    Verb.UPDATE: "Updated",
}


def _message(text: str, *blocks: Any) -> Message:
    return {"text": truncate(text, FALLBACK_TEXT_MAX), "blocks": [b.to_dict() for b in blocks]}


def alert_title(alert: Alert) -> str:
    emoji = status_emoji(alert.status)
    return f"{emoji} {link(alert.url, alert.label)} {escape(truncate(alert.summary, 300))} · *{alert.status.value}*"


def state_explanation(verb: Verb, alert: Alert) -> str:
    """Why an action did not apply, and what can be done instead."""
    status = alert.status
    if verb is Verb.ACKNOWLEDGE:
        if status is AlertStatus.ACKNOWLEDGED:
            return "It is already acknowledged."
        if status is AlertStatus.RESOLVED:
            return "It is already resolved."
        if status is AlertStatus.OPEN:
            return "It is open, not triggered: only triggered alerts can be acknowledged. You can resolve it."
        return f"It is {status.value}: only triggered alerts can be acknowledged."
    if status is AlertStatus.RESOLVED:
        return "It is already resolved."
    return f"It is {status.value}."


def action_result(result: ActionResult) -> Message:
    alert = result.alert
    who = f"<@{result.actor.slack_user_id}>"
    when = slack_date(result.at)
    if not result.done:
        head = f"Nothing to do: {link(alert.url, alert.label)} was not changed. "
        reasons = " ".join(escape(w) for w in result.warnings)
        body = head + (reasons or state_explanation(result.verb, alert))
        return _message(
            f"{alert.label}: {reasons or state_explanation(result.verb, alert)}",
            SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_TEXT_MAX))),
            ContextBlock(elements=[MarkdownTextObject(text=truncate(alert_title(alert), SECTION_TEXT_MAX))]),
        )
    verb = PAST[result.verb]
    line = f"✅ {verb} {link(alert.url, alert.label)} by {who} · {when}"
    blocks: list[Any] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(line, SECTION_TEXT_MAX))),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(alert_title(alert), SECTION_TEXT_MAX))]),
    ]
    if result.changes:
        changed = "\n".join(f"• {escape(c)}" for c in result.changes)
        blocks.insert(1, SectionBlock(text=MarkdownTextObject(text=truncate(changed, SECTION_TEXT_MAX))))
    if result.note is not None:
        quoted = "\n".join("> " + escape(row) for row in result.note.details.splitlines()[:20])
        blocks.insert(1, SectionBlock(text=MarkdownTextObject(text=truncate(quoted, SECTION_TEXT_MAX))))
    if result.warnings:
        warn = "\n".join(f"⚠️ {escape(w)}" for w in result.warnings)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(warn, SECTION_TEXT_MAX))]))
    return _message(f"{verb} {alert.label}: {alert.summary}", *blocks)


def triggered(result: Triggered, posted: bool, *, command: str) -> Message:
    """After ``/rootly trigger`` (``command``: the configured name): where the alert is and how a repeat behaves."""
    if result.alert is not None:
        alert = result.alert
        where = " It is posted below." if posted else ""
        text = f"🚨 Raised {link(alert.url, alert.label)} in Rootly: {escape(truncate(alert.summary, 300))}.{where}"
    else:
        text = (
            f"🚨 Sent to {result.backend.value}: ilert opens the alert within seconds, and `{command} alerts` shows it."
        )
    context = f"Key {code(result.key)}: raising it again with `--key {result.key}` adds to the same alert."
    return _message(
        text,
        SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(context, SECTION_TEXT_MAX))]),
    )


_QUEUED = {
    Verb.NOTE: "your note is queued: it will be added",
    Verb.ACKNOWLEDGE: "the acknowledgement is queued: it will be sent",
    Verb.RESOLVE: "the resolution is queued: it will be sent",
}


def queued(q: Queued) -> Message:
    """Told only after the item is safely in the outbox."""
    backend = escape(q.backend)
    reason = escape(truncate(q.reason, 300))
    if q.ambiguous:
        text = (
            f"⏳ {backend} did not confirm ({reason}), so {_QUEUED[q.verb]} once the bot has checked it did not land "
            f"already. You will be told here when it is done."
        )
    else:
        text = f"⏳ {reason}: {_QUEUED[q.verb]} when it is reachable again. You will be told here when it is done."
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))]
    context = f"Alert {code(q.target)} · outbox item {q.item_id}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    fallback = text + (f"\n\nYour text:\n{q.typed}" if q.typed else "")
    return {"text": truncate(fallback, FALLBACK_TEXT_MAX), "blocks": [b.to_dict() for b in blocks]}


def outcome(result: ActionResult | Queued) -> Message:
    return queued(result) if isinstance(result, Queued) else action_result(result)


def outbox_outcome(payload: dict[str, Any], result: ActionResult | None, error: str | None) -> Message:
    """What the person hears when a queued action finally lands, or is given up on (with their text back)."""
    typed = payload.get("text") or payload.get("message")
    if error is not None:
        return problem(f"A queued action could not be completed: {escape(error)}", typed=typed)
    if result is None:  # an unconfirmed earlier attempt had landed after all
        text = "✅ Your queued note was already on the alert; it was not added twice."
        return _message(text, SectionBlock(text=MarkdownTextObject(text=text)))
    message = action_result(result)
    message["text"] = "From the outbox: " + message["text"]
    return message


MESSAGE_BLOCKS_MAX = 50  # Slack's limit of blocks in one message


def _outcome_blocks(message: Message) -> list[Any]:
    return message.get("blocks") or [
        SectionBlock(text=MarkdownTextObject(text=truncate(message["text"], SECTION_TEXT_MAX))).to_dict()
    ]


def _outcomes_header(count: int) -> str:
    return f"{count} of your queued actions finished:"


def outbox_outcomes_fitting(messages: Sequence[Message]) -> int:
    """How many of ``messages`` (at least one) fit whole in one :func:`outbox_outcomes` message: Slack's 50 blocks,
    and fallback text that keeps every outcome's text (the person's typed words among them) untruncated."""
    blocks, text = 1, len(_outcomes_header(len(messages))) + 1
    for taken, message in enumerate(messages):
        blocks += 1 + len(_outcome_blocks(message))
        text += len(message["text"]) + 3
        if taken and (blocks > MESSAGE_BLOCKS_MAX or text > FALLBACK_TEXT_MAX):
            return taken
    return max(1, len(messages))


def outbox_outcomes(messages: Sequence[Message]) -> Message:
    """Several outcomes for one person as one message, each whole and in the order they finished: after an outage
    a backlog of one person's actions lands faster than Slack lets the bot post to them one message each."""
    if len(messages) == 1:
        return messages[0]
    header = _outcomes_header(len(messages))
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=header)).to_dict()]
    for message in messages:
        blocks.append(DividerBlock().to_dict())
        blocks.extend(_outcome_blocks(message))
    text = header + "".join(f"\n• {message['text']}" for message in messages)
    return {"text": truncate(text, FALLBACK_TEXT_MAX), "blocks": blocks}


def problem(text: str, *, typed: str | None = None, hint: str | None = None) -> Message:
    """A refusal or failure, with the syntax to use and, when relevant, the person's own text handed back."""
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=truncate(f"⚠️ {text}", SECTION_TEXT_MAX)))]
    if hint:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(hint, SECTION_TEXT_MAX))]))
    fallback = f"{text} {hint or ''}".strip()
    if typed:
        # Nothing typed is lost: give it back whole in the fallback text (40,000 characters) and a preview.
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate("Your text, to copy:\n```" + typed.replace("```", "'''") + "```", SECTION_TEXT_MAX)
                )
            )
        )
        fallback = truncate(f"{fallback}\n\nYour text:\n{typed}", FALLBACK_TEXT_MAX)
    return {"text": fallback, "blocks": [b.to_dict() for b in blocks]}


def failure_text(exc: errors.BackendError, subject: str) -> tuple[str, str | None]:
    """Every backend failure in words that say what happened and what to do: (text, hint)."""
    name = exc.backend
    if isinstance(exc, errors.NotFound):
        text = exc.message if "No alert" in exc.message else f"{name} has no alert {code(subject)}."
        return text, "Check the id: use the short id, the UUID, or paste the alert's link."
    if isinstance(exc, errors.Unauthorized):
        return f"{name} rejected the bot's API key ({exc.status}). Ask whoever runs the bot to check the token.", None
    if isinstance(exc, errors.RateLimited):
        wait = f" Try again in about {int(exc.retry_after or 60)} s." if exc.retry_after else ""
        return f"{name} is rate limiting the bot right now, so {subject} was not changed.{wait}", None
    if isinstance(exc, errors.Unavailable):
        maybe = " It may have gone through: check before trying again." if exc.ambiguous else ""
        return f"{name} is not answering ({escape(exc.message)}).{maybe}", None
    if isinstance(exc, (errors.Invalid, errors.Conflict, errors.Unsupported)):
        return f"{name} refused it: {escape(exc.message)}", None
    return f"{name} answered with an error: {escape(exc.message)}", None


def backend_error(exc: errors.BackendError, *, subject: str, typed: str | None = None) -> Message:
    text, hint = failure_text(exc, subject)
    return problem(text, typed=typed, hint=hint)


def describe_failure(exc: Exception, subject: str = "the alert") -> str:
    """One sentence for places with room for only one (a modal's error line)."""
    if isinstance(exc, errors.BackendError):
        return failure_text(exc, subject)[0]
    return "Something went wrong on the bot's side; your text is kept below so you can try again."


def action_text(result: ActionResult) -> str:
    """The outcome in a line of mrkdwn, for a modal that reports it."""
    alert = result.alert
    if not result.done:
        return f"{link(alert.url, alert.label)}: {state_explanation(result.verb, alert)}"
    warn = "".join(f"\n⚠️ {escape(w)}" for w in result.warnings)
    return f"✅ {PAST[result.verb]} {link(alert.url, alert.label)} · {slack_date(result.at)}{warn}"


_SLACK_REFUSALS = {
    "not_in_channel": "I'm not in this channel, so I can't post here. Invite me with `/invite @rootly` and try again.",
    "channel_not_found": "I can't see this channel. Invite me with `/invite @rootly` (private channels need it).",
    "is_archived": "This channel is archived, so nothing can be posted here.",
    "restricted_action": "This workspace doesn't let me post in this channel.",
    "msg_too_long": "That message is too long for Slack.",
    "expired_trigger_id": "Slack's window to open the form passed (3 s). Please click again.",
}


def slack_refused(code: str, *, typed: str | None = None) -> Message:
    return problem(_SLACK_REFUSALS.get(code, f"Slack refused the request ({code})."), typed=typed)


def unexpected(reference: str, *, typed: str | None = None) -> Message:
    return problem(
        f"Something went wrong on the bot's side (reference {code(reference)}). Nothing was lost: "
        "try again, and tell whoever runs the bot if it happens again.",
        typed=typed,
    )


def database_down(reference: str, *, typed: str | None = None) -> Message:
    return problem(
        "The bot's database could not record this just now (unreachable, or refusing writes), so nothing was done "
        f"(reference {code(reference)}). Try again in a moment.",
        typed=typed,
    )


def working(text: str) -> Message:
    return {"text": f"⏳ {text}"}
