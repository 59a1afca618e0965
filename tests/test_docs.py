"""The docs cannot drift from the code: the configuration reference is generated, every metric is documented, and
every message the bot can show a person (or an operator, from ``rootly-bot check`` and the configuration check) is
explained in docs/troubleshooting.md.

Messages are found by reading the source (``ast``), not by a list kept by hand: the first argument of ``problem(…)``
and ``problem_modal(…)``, the per-field ``errors={…}`` of modal answers, the refusal tables, the exceptions whose
text people read (bad references, filters, schedules, digests, command syntax), configuration problems and the
doctor's ✗ findings. A message with placeholders is matched by its longest fixed part.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import VARIABLES
from bot.ops.config_docs import configuration_markdown
from bot.render import replies
from bot.support import errors, metrics
from tests.contracts import REPO

DOCS = REPO / "docs"
PLACEHOLDER = "\x00"
# Calls whose first argument is shown to a person as it is.
SHOWN_FIRST_ARG = {
    "problem",
    "problem_modal",
    "BadReference",
    "FilterError",
    "ScheduleError",
    "DigestInvalid",
    "_Problem",
}
# Backend refusals whose message people read after "Rootly refused it:" (syntax.py's Invalid is (command, problem)).
REFUSALS = {"Unsupported", "Conflict", "Invalid"}
# Tables of messages: {code: message}.
MESSAGE_TABLES = {"_SLACK_REFUSALS", "SLACK_ERRORS"}
MIN_FRAGMENT = 12  # shorter fixed parts ("digest", "{…}: {…}") say too little to look for


@dataclass(frozen=True)
class Message:
    where: str
    text: str  # placeholders as PLACEHOLDER

    @property
    def fragment(self) -> str:
        pieces = [normalize(p) for p in self.text.split(PLACEHOLDER)]
        return max(pieces, key=len)


def normalize(text: str) -> str:
    text = re.sub(r"[`*_>]", "", text)
    text = text.replace("⚠️", "").replace("⛔", "")
    return " ".join(text.split()).strip(" .:;,").lower()


def literal(node: ast.AST | None, constants: dict[str, str]) -> str | None:
    """The text of a string expression, with PLACEHOLDER where it is computed; None when nothing is fixed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else PLACEHOLDER for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal(node.left, constants), literal(node.right, constants)
        return (left or PLACEHOLDER) + (right or PLACEHOLDER) if (left or right) else None
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return None


def shown_texts(node: ast.Call, rel: Path) -> Iterator[ast.AST]:
    """The arguments of this call that a person reads as they are."""
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    if name in SHOWN_FIRST_ARG and node.args:
        yield node.args[0]
    if name == "Invalid" and rel.name == "syntax.py" and len(node.args) > 1:  # Invalid(command, problem, …)
        yield node.args[1]
    elif name in REFUSALS and node.args:
        yield node.args[0]
    if name == "append" and rel.name == "config.py" and node.args:  # problems.append(…)
        yield node.args[0]
    if name == "Finding" and len(node.args) == 3 and getattr(node.args[0], "attr", "") == "FAIL":
        yield node.args[2]
    for keyword in node.keywords:  # ack(response_action="errors", errors={block: text})
        if keyword.arg == "errors" and isinstance(keyword.value, ast.Dict):
            yield from (v for v in keyword.value.values if v is not None)


def messages() -> Iterator[Message]:
    for path in sorted((REPO / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(REPO)
        constants = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            found: list[ast.AST] = []
            is_table = isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
            if is_table and any(isinstance(t, ast.Name) and t.id in MESSAGE_TABLES for t in node.targets):
                found += [v for v in node.value.values if v is not None]  # type: ignore[union-attr]
            if isinstance(node, ast.Call):
                found += shown_texts(node, rel)
            if isinstance(node, ast.FunctionDef) and "problem" in node.name:  # returns {block_id: message}
                found += [
                    v
                    for r in ast.walk(node)
                    if isinstance(r, ast.Return) and isinstance(r.value, ast.Dict)
                    for v in r.value.values
                    if v is not None
                ]
            if isinstance(node, ast.JoinedStr | ast.Constant) and (literal(node, constants) or "").startswith("⛔"):
                found.append(node)  # a refusal, wherever it is built
            for value in found:
                if text := literal(value, constants):
                    yield Message(f"{rel}:{getattr(value, 'lineno', '?')}", text)


@pytest.fixture(scope="module")
def troubleshooting() -> str:
    return normalize((DOCS / "troubleshooting.md").read_text(encoding="utf-8"))


def test_messages_are_found_at_all() -> None:
    found = list(messages())
    assert len(found) > 40, "the message collector found too little: has the code's shape changed?"


def test_every_message_is_explained_in_troubleshooting(troubleshooting: str) -> None:
    missing = sorted(
        {f"{m.where}: {m.fragment!r}" for m in messages() if len(m.fragment) >= MIN_FRAGMENT}
        - {f"{m.where}: {m.fragment!r}" for m in messages() if m.fragment in troubleshooting}
    )
    assert missing == [], "explain these messages in docs/troubleshooting.md (quote them):\n" + "\n".join(missing)


@pytest.mark.parametrize(
    "exc",
    [
        errors.NotFound("XMSGX", status=404, backend="Rootly"),
        errors.Unauthorized("XMSGX", status=401, backend="Rootly"),
        errors.RateLimited("XMSGX", retry_after=30, status=429, backend="Rootly"),
        errors.Unavailable("XMSGX", status=503, backend="Rootly"),
        errors.Unavailable("XMSGX", ambiguous=True, backend="Rootly"),
        errors.Invalid("XMSGX", status=422, backend="Rootly"),
        errors.BackendError("XMSGX", status=418, backend="Rootly"),
    ],
    ids=lambda e: type(e).__name__ + ("-ambiguous" if getattr(e, "ambiguous", False) else ""),
)
def test_every_backend_failure_text_is_explained(exc: errors.BackendError, troubleshooting: str) -> None:
    """Each kind of backend failure, by its fixed words (the backend's name and message and the alert vary)."""
    for text in filter(None, replies.failure_text(exc, "XSUBJX")):
        fixed = [normalize(p) for p in re.split(r"Rootly|XSUBJX|XMSGX|\d+|\([^)]*\)", text)]
        for piece in fixed:
            assert piece in troubleshooting, f"docs/troubleshooting.md does not explain {piece!r} of {text!r}"


def test_configuration_reference_is_generated_from_the_code() -> None:
    path = DOCS / "configuration.md"
    assert path.read_text(encoding="utf-8") == configuration_markdown(), (
        "regenerate it: python -m bot.ops.config_docs > docs/configuration.md"
    )
    for v in VARIABLES:
        assert f"`{v.name}`" in configuration_markdown()


def test_every_metric_is_documented_in_operations() -> None:
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    names = {
        collector._name  # type: ignore[attr-defined]
        for collector in vars(metrics).values()
        if hasattr(collector, "_name") and str(getattr(collector, "_name", "")).startswith("rootly_bot_")
    }
    assert names, "no metric found in bot/support/metrics.py"
    suffix = {"counter": "_total"}
    for collector in vars(metrics).values():
        name = getattr(collector, "_name", "")
        if not str(name).startswith("rootly_bot_"):
            continue
        shown = name + suffix.get(getattr(collector, "_type", ""), "")
        assert f"`{shown}`" in text, f"docs/operations.md does not describe {shown}"


def test_readme_stays_a_quick_start_that_links_the_docs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for page in ("setup.md", "commands.md", "configuration.md", "operations.md", "troubleshooting.md", "deployment.md"):
        assert (DOCS / page).is_file(), f"docs/{page} is missing"
        assert f"docs/{page}" in readme, f"README.md does not link docs/{page}"


def test_docs_links_point_at_files_that_exist() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).resolve().exists(), f"{page.name} links to a missing {target}"
