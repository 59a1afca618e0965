"""On-call messages as Block Kit: pure functions of the service's answers; no I/O."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.oncall import OnCallShift, OnCallTarget, OverrideShift, Paged, TargetKind
from bot.oncall.service import Level, NameProblem, OnCallAnswer, PagePreview
from bot.render.ids import DEFAULT_COMMAND, Action, Block
from bot.render.text import (
    FALLBACK_TEXT_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    code,
    escape,
    link,
    slack_date,
    truncate,
)

Message = dict[str, Any]
WHEN = "{date_short_pretty} {time}"  # each reader's own time zone


def _message(text: str, blocks: list[Any]) -> Message:
    return {"text": truncate(text, FALLBACK_TEXT_MAX), "blocks": [b.to_dict() for b in blocks]}


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))])


def until(when: datetime) -> str:
    return slack_date(when, WHEN)


def who(shift: OnCallShift, mentions: dict[str, str], *, mention: bool = True) -> str:
    """A Slack mention when the person's email matches a Slack user, otherwise their full name."""
    user = mentions.get((shift.person.email or "").lower())
    name = f"<@{user}>" if user and mention else escape(shift.person.name)
    marks = [m for m, on in (("override", shift.override), ("shadow", shift.shadow)) if on]
    return name + (f" _({', '.join(marks)})_" if marks else "")


def level_line(level: Level, mentions: dict[str, str]) -> str:
    if not level.now:
        head = f"Level {level.number}: *nobody*"
    else:
        people = ", ".join(f"{who(s, mentions)} until {until(s.ends_at)}" for s in level.now)
        head = f"Level {level.number}: {people}"
    if level.next is not None:
        head += f" · next: {who(level.next, mentions)} from {until(level.next.starts_at)}"
    return head


def oncall_message(answer: OnCallAnswer, *, take_minutes: int = 60) -> Message:
    blocks: list[Any] = [HeaderBlock(text=truncate(answer.title, HEADER_TEXT_MAX))]
    if answer.by_channel:
        blocks.append(_context("This channel belongs to this team in Rootly."))
    lines_for_text = [answer.title]
    if not answer.policies:
        blocks.append(_section("Nobody is on call right now."))
        lines_for_text.append("Nobody is on call right now.")
    room = MESSAGE_BLOCKS_MAX - 4
    for n, policy in enumerate(answer.policies):
        if n >= room:
            blocks.append(_context(f"…and {len(answer.policies) - n} more escalation policies: name one to narrow."))
            break
        lines = [level_line(level, answer.mentions) for level in policy.levels]
        blocks.append(_section(f"*{escape(policy.name)}*\n" + "\n".join(lines)))
        lines_for_text.append(f"{policy.name}: " + "; ".join(lines))
    notes = list(answer.failures)
    if answer.unmatched:
        notes.append(
            "Shown by name, not as a Slack mention (no Slack user has their email): "
            + ", ".join(escape(n) for n in answer.unmatched)
            + "."
        )
    if notes:
        blocks.append(_context("\n".join(f"⚠️ {n}" for n in notes)))
    if answer.can_take and answer.target is not None:
        hours = f"{take_minutes // 60} h" if take_minutes % 60 == 0 else f"{take_minutes} min"
        blocks.append(
            ActionsBlock(
                block_id=Block.ONCALL_ACTIONS,
                elements=[
                    ButtonElement(text=f"I'll take it ({hours})", action_id=Action.ONCALL_TAKE, value=answer.target.key)
                ],
            )
        )
    return _message("\n".join(lines_for_text), blocks)


def no_oncall(backends: tuple[str, ...]) -> Message:
    names = " and ".join(backends)
    text = f"⚠️ This {names} organisation does not have {names} On-Call, so there is no one on call to show."
    return _message(text, [_section(text)])


_KIND_WORDS = {
    TargetKind.TEAM: "team",
    TargetKind.SCHEDULE: "schedule",
    TargetKind.ESCALATION_POLICY: "escalation policy",
    TargetKind.SERVICE: "service",
    TargetKind.USER: "user",
}


def describe(target: OnCallTarget) -> str:
    slug = f" ({code(target.slug)})" if target.slug and target.slug.casefold() != target.name.casefold() else ""
    return f"{_KIND_WORDS[target.kind]} *{escape(target.name)}*{slug}"


def name_problem(problem: NameProblem, usage: str) -> Message:
    kinds = " or ".join(_KIND_WORDS[k] for k in problem.kinds)
    typed = code(problem.typed[:80])
    if problem.ambiguous:
        text = f"⚠️ {typed} names more than one {kinds}. Which one? Type its slug, or quote its full name:"
    elif problem.kinds == (TargetKind.USER,):
        text = f"⚠️ No Rootly or ilert user has the email of {typed}, so they cannot be paged."
    elif problem.choices:
        text = f"⚠️ I don't know a {kinds} called {typed}. Closest:"
    else:
        text = f"⚠️ I don't know a {kinds} called {typed}, and nothing is close to it."
    listed = "\n".join(f"• {describe(t)}" for t in problem.choices)
    blocks: list[Any] = [_section(text + ("\n" + listed if listed else ""))]
    blocks.append(_context(f"Use: {code(usage)}"))
    return _message(text + " " + ", ".join(t.name for t in problem.choices), blocks)


def page_value(token: str, target: OnCallTarget, summary: str) -> str:
    """What the Page button carries: enough to page without asking again (under Slack's 2,000 characters)."""
    return json.dumps(
        {"t": token, "k": target.key, "n": target.name[:100], "e": target.email, "s": summary}, separators=(",", ":")
    )


def page_preview(preview: PagePreview, token: str) -> Message:
    target = preview.target
    if target.kind is TargetKind.USER:
        first = level_line(preview.levels[0], preview.mentions).split(": ", 1)[1].split(" until ")[0]
        lines = [f"{first} will be paged directly."]
    elif not preview.levels or not any(lvl.now for lvl in preview.levels):
        lines = ["⚠️ Nobody is on call for it right now: the page will follow its escalation rules anyway."]
        lines += [level_line(lvl, preview.mentions) for lvl in preview.levels]
    else:
        lines = ["Paged first, then up the levels until someone acknowledges:"]
        lines += [level_line(lvl, preview.mentions) for lvl in preview.levels]
    head = f"🚨 Page the {describe(target)} with “{escape(preview.summary)}”?"
    value = page_value(token, target, preview.summary)
    blocks: list[Any] = [
        _section(head),
        _section("\n".join(lines)),
        ActionsBlock(
            block_id=Block.ONCALL_ACTIONS,
            elements=[
                ButtonElement(text="Page", action_id=Action.ONCALL_PAGE, value=value, style="danger"),
                ButtonElement(text="Cancel", action_id=Action.ONCALL_PAGE_CANCEL, value=token),
            ],
        ),
    ]
    return _message(f"Page {target.name}: {preview.summary}?", blocks)


def paged(result: Paged, target_name: str, slack_user: str, command: str = DEFAULT_COMMAND) -> Message:
    if result.alert is not None:
        alert = result.alert
        text = (
            f"🚨 <@{slack_user}> paged *{escape(target_name)}*: alert {link(alert.url, alert.label)} "
            f"(id {code(alert.ref.id)}). It is posted in this channel with its buttons."
        )
    else:
        text = (
            f"🚨 <@{slack_user}> paged *{escape(target_name)}* through {result.backend.value}: the alert opens "
            f"within seconds (alert key {code(result.key)}); `{command} alerts` shows it."
        )
    return _message(text, [_section(text)])


def already_paged(owner: str) -> Message:
    who_did = f"<@{owner}>" if owner.startswith(("U", "W")) else "someone"
    text = f"This page was already sent by {who_did}; nobody was paged twice."
    return _message(text, [_section(text)])


def page_cancelled(slack_user: str) -> Message:
    text = f"Cancelled by <@{slack_user}>: nobody was paged."
    return _message(text, [_section(text)])


def took(override: OverrideShift, schedule: OnCallTarget, slack_user: str) -> Message:
    text = (
        f"✅ <@{slack_user}> took the pager for *{escape(schedule.name)}* from {until(override.starts_at)} "
        f"until {until(override.ends_at)} (a Rootly override)."
    )
    return _message(text, [_section(text)])


def take_refused(message: str, schedule: OnCallTarget, backend: str) -> Message:
    text = f"⚠️ {backend} did not make you on call for *{escape(schedule.name)}*: {escape(message)}"
    hint = "Nothing was changed. Check that you are a user of that schedule's team and that no override covers it."
    return _message(f"{text} {hint}", [_section(text), _context(hint)])


def _names(side: dict[str, Any] | None, mentions: dict[str, str]) -> str:
    if not side:
        return "nobody"
    out = []
    for name, email in zip(side.get("names") or (), side.get("emails") or (), strict=False):
        user = mentions.get((email or "").lower())
        out.append(f"<@{user}>" if user else escape(str(name)))
    return ", ".join(out) or "nobody"


def shift_change(
    label: str, before: dict[str, Any] | None, after: dict[str, Any] | None, mentions: dict[str, str]
) -> Message:
    """``Primary: Bob → Carol until Fri 09:00``; names, not mentions, unless the follow asked for mentions."""
    line = f"🔁 *{escape(label)}*: {_names(before, {})} → {_names(after, mentions)}"
    if after and after.get("until"):
        line += f" until {until(datetime.fromisoformat(after['until']))}"
    plain = f"{label}: {_names(before, {})} → {_names(after, {})}"
    return _message(plain, [_section(line)])


def followed(target: OnCallTarget, mention: bool, new: bool, slack_user: str, minutes: float) -> Message:
    how = "with an @-mention of who comes on" if mention else "without @-mentions (add `mention` to ping them)"
    every = f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"
    when = f"Checked every {every}." if minutes > 0 else "Checking is off here (ONCALL_POLL_SECONDS=0)."
    text = (
        f"🔔 <@{slack_user}> {'made' if new else 'updated'} this channel follow the {describe(target)}: a short "
        f"message here when who is on call changes, {how}. {when}"
    )
    return _message(text, [_section(text)])


def unfollowed(names: list[str], typed: str | None) -> Message:
    if not names:
        text = f"This channel follows nothing called {code(typed[:80])}." if typed else "This channel follows nothing."
        return _message(text, [_section(text)])
    text = "🔕 This channel no longer follows " + ", ".join(f"*{escape(n)}*" for n in names) + "."
    return _message(text, [_section(text)])


def following(items: list[tuple[str, bool]], command: str = DEFAULT_COMMAND) -> Message:
    if not items:
        text = f"This channel follows no schedule or escalation policy. `{command} oncall follow <name>` starts one."
        return _message(text, [_section(text)])
    lines = [f"• *{escape(n)}*{' (with @-mentions)' if m else ''}" for n, m in items]
    text = "This channel hears about on-call changes of:\n" + "\n".join(lines)
    return _message(text, [_section(text)])
