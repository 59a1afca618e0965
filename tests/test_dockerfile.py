"""The Dockerfile, checked statically (no container engine runs here), and bot.ops.healthcheck against a real server."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import VARIABLES
from bot.ops import healthcheck
from tests.contracts import REPO
from tests.fakes.server import FakeServer, Recorded, Reply

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

# Every variable the bot reads, from the one table in bot.config.
KNOWN_ENV = frozenset(v.name for v in VARIABLES)
# Variables for the Python interpreter itself, not the bot: allowed in the image, and nothing else is.
PYTHON_RUNTIME_ENV = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"})
# The image's own: PATH puts the bot's virtual environment first.
IMAGE_ENV = frozenset({"PATH"})
VENV = "/opt/venv"
INSTALL_SCRIPT = "deploy/install.sh"

ROOT_USERS = {"root", "0"}


# a tiny Dockerfile parser ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, …
    args: str
    line: int  # where the instruction starts


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions: continuation lines joined, comments and blank lines dropped (as BuildKit does)."""
    escape = "\\"
    for line in text.splitlines():  # parser directives (# syntax=…, # escape=…) come first, before anything else
        directive = re.fullmatch(r"#\s*(\w+)\s*=\s*(\S+)\s*", line)
        if not directive:
            break
        if directive.group(1).lower() == "escape":
            escape = directive.group(2)
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, where Docker drops comment and empty lines
        if not parts:
            start = number
        body = raw.rstrip()
        if body.endswith(escape):
            parts.append(body[: -len(escape)])
            continue
        parts.append(body)
        logical = "".join(parts).strip()
        parts = []
        keyword, _, args = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    assert not parts, f"line {start}: the last instruction ends in a continuation"
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """Instructions grouped by build stage, each starting with its FROM."""
    grouped: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            grouped.append([])
        assert grouped, f"line {ins.line}: {ins.keyword} before the first FROM"
        grouped[-1].append(ins)
    return grouped


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not an exec-form array: {args}"
    return value


def split_flags(args: str) -> tuple[dict[str, str], str]:
    """``--a=1 --b=2 rest`` → ({"a": "1", "b": "2"}, "rest")."""
    flags: dict[str, str] = {}
    rest = args
    while match := re.match(r"--([\w-]+)(?:=(\S+))?\s*", rest):
        flags[match.group(1)] = match.group(2) or ""
        rest = rest[match.end() :]
    return flags, rest


def env_names(args: str) -> dict[str, str]:
    """``ENV A=1 B="x y"`` or the legacy ``ENV A 1``."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    pairs = {}
    for word in words:
        name, sep, value = word.partition("=")
        assert sep, f"ENV {args!r}: {word!r} is not NAME=value"
        pairs[name] = value
    return pairs


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration):
        total += float(amount) * units[unit]
    return total


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(instructions: list[Instruction]) -> list[Instruction]:
    return stages(instructions)[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {len(found)}"
    return found[0]


# the parser ------------------------------------------------------------------------------------------------------
def test_parser_joins_continuations_and_drops_comments() -> None:
    text = '# comment\nFROM python:3.11-slim AS b\n\nRUN a \\\n  # inside\n && b\ncmd ["x"]\n'
    assert parse_dockerfile(text) == [
        Instruction("FROM", "python:3.11-slim AS b", 2),
        Instruction("RUN", "a  && b", 4),
        Instruction("CMD", '["x"]', 7),
    ]
    windows = "# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir c:\\ `\n  /b\n"
    assert parse_dockerfile(windows) == [Instruction("FROM", "x", 3), Instruction("RUN", "dir c:\\   /b", 4)]
    assert env_names('A=1 B="x y"') == {"A": "1", "B": "x y"}
    assert env_names("A 1 2") == {"A": "1 2"}
    assert split_flags("--interval=30s --timeout=5s CMD [1]") == ({"interval": "30s", "timeout": "5s"}, "CMD [1]")
    assert seconds("1m30s") == 90


# the Dockerfile --------------------------------------------------------------------------------------------------
KNOWN_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR",
    "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def test_dockerfile_parses_into_known_instructions(instructions: list[Instruction]) -> None:
    assert instructions and instructions[0].keyword == "FROM"
    unknown = [(i.line, i.keyword) for i in instructions if i.keyword not in KNOWN_INSTRUCTIONS]
    assert unknown == []


def test_base_images_are_slim_python_3_11_or_newer(instructions: list[Instruction]) -> None:
    all_stages = stages(instructions)
    names = [
        re.split(r"\s+as\s+", s[0].args, flags=re.IGNORECASE)[1] for s in all_stages if " as " in s[0].args.lower()
    ]
    assert len(all_stages) >= 2, "expected a multi-stage build (builder + runtime)"
    for stage in all_stages:
        image = stage[0].args.split()[0]
        if image in names:
            continue  # FROM an earlier stage
        match = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim(?:-[a-z]+)?(?:@sha256:[0-9a-f]{64})?", image)
        assert match, f"line {stage[0].line}: {image} is not a python:X.Y-slim image"
        assert (int(match.group(1)), int(match.group(2))) >= (3, 11), f"{image}: the bot needs Python 3.11+"


def test_final_stage_copies_only_the_virtualenv_from_the_builder(final: list[Instruction]) -> None:
    copies = [i for i in final if i.keyword in {"COPY", "ADD"}]
    assert copies, "the final stage copies nothing from the builder"
    for ins in copies:
        flags, rest = split_flags(ins.args)
        assert "from" in flags, f"line {ins.line}: the final stage copies from the build context: {ins.args}"
        assert rest.split() == [VENV, VENV], f"line {ins.line}: the final stage copies more than {VENV}"
    runs = " && ".join(i.args for i in final if i.keyword == "RUN")
    assert "pip " not in runs, "the final stage installs packages: everything comes in the builder's virtualenv"
    for tool in ("apt-get install", "apk add", "gcc", "build-essential", "git "):
        assert tool not in runs, f"the final stage installs build tools: {tool!r}"


def test_builder_installs_the_lock_file_with_the_shared_script(instructions: list[Instruction]) -> None:
    """The builder runs deploy/install.sh (what tests/test_container.py runs in a clean venv), nothing else."""
    builder = stages(instructions)[0]
    runs = [i.args for i in builder if i.keyword == "RUN"]
    assert len(runs) == 1 and re.fullmatch(rf"PYTHON=python sh {INSTALL_SCRIPT} {VENV} /src", runs[0]), runs
    copied = [split_flags(i.args)[1].split()[:-1] for i in builder if i.keyword == "COPY"]
    sources = {src for group in copied for src in group}
    assert {"pyproject.toml", "README.md", "requirements.lock", "bot", INSTALL_SCRIPT} <= sources, sources
    script = (REPO / INSTALL_SCRIPT).read_text(encoding="utf-8")
    assert "--require-hashes" in script and "--only-binary=:all:" in script and "--without-pip" in script
    assert "--no-deps" in script


def test_runs_as_non_root_user_bot(final: list[Instruction]) -> None:
    cmd_index = next(n for n, i in enumerate(final) if i.keyword == "CMD")
    users = [i.args for i in final[:cmd_index] if i.keyword == "USER"]
    assert users, "no USER before CMD: the bot would run as root"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS
    assert user in {"bot", "10001"}
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert re.search(r"useradd\b[^&]*--uid 10001\b[^&]*\bbot\b", runs), "user bot is not created with uid 10001"


def test_cmd_runs_the_console_script(final: list[Instruction]) -> None:
    assert exec_form(only(final, "CMD").args) == ["rootly-bot", "run"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert "rootly-bot" in scripts, "CMD runs a console script the project does not install"


def test_healthcheck_targets_healthz(final: list[Instruction]) -> None:
    flags, rest = split_flags(only(final, "HEALTHCHECK").args)
    form, _, command = rest.partition(" ")
    assert form.upper() == "CMD"
    argv = exec_form(command)
    if argv[-2:] == ["-m", "bot.ops.healthcheck"]:
        assert healthcheck.health_url({"PORT": "3000"}) == "http://127.0.0.1:3000/healthz"
        # Docker kills a check that outlives --timeout; the probe's own timeout must fit inside it.
        assert seconds(flags.get("timeout", "30s")) > healthcheck.TIMEOUT_SECONDS
    else:
        assert any("/healthz" in arg for arg in argv), f"HEALTHCHECK does not probe /healthz: {argv}"
    assert not any(arg in {"curl", "wget"} for arg in argv), "slim images have neither curl nor wget"


def test_every_env_is_a_known_variable(final: list[Instruction]) -> None:
    env: dict[str, str] = {}
    for ins in final:
        if ins.keyword == "ENV":
            env.update(env_names(ins.args))
    unknown = sorted(set(env) - KNOWN_ENV - PYTHON_RUNTIME_ENV - IMAGE_ENV)
    assert unknown == [], f"ENV sets variables the bot does not know: {unknown}"
    assert env.get("PATH", "").startswith(f"{VENV}/bin:"), "the virtualenv must come first on PATH"
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("DATABASE_URL") == "sqlite:////data/rootly-bot.db"
    exposed = [p.split("/")[0] for i in final if i.keyword == "EXPOSE" for p in i.args.split()]
    assert exposed == [env.get("PORT")] == ["3000"], "EXPOSE must match PORT"


def test_data_volume_is_owned_by_bot(final: list[Instruction]) -> None:
    volume = only(final, "VOLUME")
    paths = exec_form(volume.args) if volume.args.startswith("[") else volume.args.split()
    assert paths == ["/data"]
    chown = [i for i in final if i.keyword == "RUN" and re.search(r"chown\s+(bot|10001)(:\S+)?\s+/data\b", i.args)]
    # Changes to a volume's path after VOLUME are discarded, so the chown must come first.
    assert chown and chown[0].line < volume.line, "/data is not chowned to bot before VOLUME"
    assert only(final, "WORKDIR").args == "/app"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    entries = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    entries.discard("")
    for needed in (".venv", ".git", ".env"):
        assert needed in entries, f".dockerignore lacks {needed}"
    assert entries & {"*.db", "**/*.db"}, ".dockerignore lacks *.db"
    assert entries & {".pytest_cache", "**/.pytest_cache"}, ".dockerignore lacks test caches"
    for needed_by_build in ("bot", "pyproject.toml", "README.md", "requirements.lock", "deploy", "*", "**"):
        assert needed_by_build not in entries, f".dockerignore excludes {needed_by_build}, which the build needs"


# bot.ops.healthcheck against a real HTTP server ----------------------------------------------------------------------
class Health(FakeServer):
    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def handle(self, req: Recorded) -> Reply:
        if req.path != "/healthz":
            return Reply(404, {"error": "not found"})
        return Reply(self.status, {"ok": self.status == 200})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1), (500, 1)])
def test_healthcheck_reports_the_servers_answer(status: int, code: int) -> None:
    with Health(status) as server:
        assert healthcheck.main({"PORT": str(server.port)}) == code
        assert [(r.method, r.path) for r in server.requests] == [("GET", "/healthz")]


def test_healthcheck_fails_when_nothing_listens() -> None:
    assert healthcheck.main({"PORT": str(free_port())}) == 1


def test_healthcheck_fails_on_a_server_slower_than_its_timeout() -> None:
    with Health(200) as server:
        server.latency = 0.5
        assert healthcheck.check({"PORT": str(server.port)}, timeout=0.1) == 1


def test_healthcheck_passes_in_socket_mode_without_probing() -> None:
    with Health(503) as server:
        assert healthcheck.main({"PORT": str(server.port), "SLACK_APP_TOKEN": "xapp-1-A-1-x"}) == 0
        assert server.requests == []
    assert healthcheck.main({"PORT": str(free_port()), "SLACK_APP_TOKEN": "xapp-1-A-1-x"}) == 0
    assert healthcheck.main({"PORT": str(free_port()), "SLACK_APP_TOKEN": "  "}) == 1  # blank is unset


def test_healthcheck_ignores_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Health(200) as server:
        assert healthcheck.main({"PORT": str(server.port)}) == 0


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:3000/healthz"),
        ({"PORT": "8080", "HOST": "0.0.0.0"}, "http://127.0.0.1:8080/healthz"),
        ({"HOST": "::"}, "http://127.0.0.1:3000/healthz"),
        ({"HOST": "10.1.2.3"}, "http://10.1.2.3:3000/healthz"),
        ({"HOST": "::1"}, "http://[::1]:3000/healthz"),
        ({"SLACK_APP_TOKEN": "xapp-x"}, None),
    ],
)
def test_health_url(env: dict[str, str], url: str | None) -> None:
    assert healthcheck.health_url(env) == url


def test_healthcheck_reads_dotenv_under_the_real_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SLACK_APP_TOKEN=xapp-from-dotenv\nPORT=1234\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "4321")
    env = healthcheck.read_env(tmp_path)
    assert env["SLACK_APP_TOKEN"] == "xapp-from-dotenv"
    assert env["PORT"] == "4321"


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1)])
def test_python_m_bot_healthcheck_exit_code(tmp_path: Path, status: int, code: int) -> None:
    """What Docker runs: ``python -m bot.ops.healthcheck`` in the working directory, configured by the environment."""
    with Health(status) as server:
        env = {"PORT": str(server.port), "PYTHONPATH": str(REPO), "HTTP_PROXY": f"http://127.0.0.1:{free_port()}"}
        done = subprocess.run(
            [sys.executable, "-m", "bot.ops.healthcheck"], cwd=tmp_path, env=env, capture_output=True, timeout=30
        )
        assert done.returncode == code, done.stderr.decode()
