"""What the container build and the deployment files rely on, checked without a container engine:

- the Dockerfile's install step (deploy/install.sh) builds a working bot from requirements.lock in a clean virtual
  environment (needs PyPI: skipped with that reason when it cannot be reached);
- requirements.lock pins, with hashes, every dependency pyproject.toml declares;
- docker-compose.yml and deploy/kubernetes/ parse, and set only variables the bot knows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.cli import SHUTDOWN_GRACE
from bot.config import VARIABLES
from tests.contracts import REPO
from tests.test_dockerfile import DOCKERFILE, INSTALL_SCRIPT, parse_dockerfile, split_flags, stages

KNOWN_ENV = frozenset(v.name for v in VARIABLES)
SECRETS = frozenset(v.name for v in VARIABLES if v.secret) | {"DATABASE_URL"}  # a URL with a password
LOCK = REPO / "requirements.lock"
COMPOSE = REPO / "docker-compose.yml"
KUBERNETES = sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
PYPI = "https://pypi.org/simple/pip/"


# the lock file ---------------------------------------------------------------------------------------------------
def locked() -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes), from the pip-compile output."""
    pins: dict[str, tuple[str, int]] = {}
    text = LOCK.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if match:
            pins[canonicalize_name(match.group(1))] = (
                match.group(2),
                len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block)),
            )
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["postgres"]]


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    pins = locked()
    assert pins, "requirements.lock has no pins"
    for name, (version, hashes) in pins.items():
        assert hashes > 0, f"{name}=={version} has no hash: pip would refuse --require-hashes"
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is declared in pyproject.toml but not locked: re-run pip-compile"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name][0]}, outside pyproject.toml's {requirement.specifier}"
        )
    for extra in ("psycopg-binary",):  # the image talks to PostgreSQL without compiling libpq bindings
        assert extra in pins


# the install step, from a clean virtual environment ----------------------------------------------------------------
def pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen(PYPI, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def builder_sources() -> list[str]:
    """What the builder stage copies from the build context (so the test builds from exactly that)."""
    builder = stages(parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")))[0]
    sources: list[str] = []
    for ins in builder:
        if ins.keyword == "COPY":
            flags, rest = split_flags(ins.args)
            assert "from" not in flags
            sources += rest.split()[:-1]
    return sources


@pytest.mark.timeout(240)
def test_the_dockerfile_install_step_builds_a_working_bot_in_a_clean_venv(tmp_path: Path) -> None:
    if not pypi_reachable():
        pytest.skip(f"PyPI cannot be reached ({PYPI}): the install step downloads the locked wheels from it")
    src = tmp_path / "src"
    src.mkdir()
    for name in builder_sources():
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, src / name)
    # As in the image: plain PyPI, no local configuration, indexes or wheel caches of this machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "https://pypi.org/simple", "PYTHON": sys.executable}
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["sh", str(src / INSTALL_SCRIPT), str(venv), str(src)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not (venv / "bin" / "pip").exists(), "the runtime venv must not carry pip"
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROOTLY_", "ILERT_", "PYTHON"))}
    helped = subprocess.run(
        [str(venv / "bin" / "rootly-bot"), "--help"], env=clean_env, cwd=tmp_path, capture_output=True, text=True
    )
    assert helped.returncode == 0, helped.stderr
    assert "run" in helped.stdout and "check" in helped.stdout
    # the venv has exactly the locked versions (nothing resolved on the side)
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "list", "--format=freeze"],
        env=env,
        capture_output=True,
        text=True,
    )
    installed = {
        canonicalize_name(n): v for n, v in (line.split("==", 1) for line in frozen.stdout.splitlines() if "==" in line)
    }
    for name, (version, _) in locked().items():
        assert installed.get(name) == version, f"{name}: locked {version}, installed {installed.get(name)}"
    import_probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import bot.app, bot.ops.web, bot.ops.doctor, psycopg, prometheus_client"],
        env=clean_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert import_probe.returncode == 0, import_probe.stderr


# docker-compose.yml ----------------------------------------------------------------------------------------------
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
COMPOSE_ONLY = frozenset({"POSTGRES_PASSWORD"})  # compose's own variable: the database password


def test_compose_runs_two_replicas_on_postgres_with_known_variables_only() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    bot, postgres = compose["services"]["bot"], compose["services"]["postgres"]
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert bot["deploy"]["replicas"] == 2
    environment = bot["environment"]
    assert set(environment) <= KNOWN_ENV, (
        f"compose sets variables the bot does not know: {set(environment) - KNOWN_ENV}"
    )
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://rootly:")
    assert environment["DATABASE_URL"].endswith("@postgres:5432/rootly")
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert postgres["image"].startswith("postgres:") and "healthcheck" in postgres
    unknown = set(INTERPOLATION.findall(text)) - KNOWN_ENV - COMPOSE_ONLY
    assert unknown == set(), f"docker-compose.yml interpolates unknown variables: {unknown}"
    # the bot's stop grace covers its own shutdown grace
    assert int(str(bot["stop_grace_period"]).rstrip("s")) > SHUTDOWN_GRACE


# deploy/kubernetes -----------------------------------------------------------------------------------------------
def kubernetes_objects() -> dict[str, dict[str, Any]]:
    assert KUBERNETES, "deploy/kubernetes/ has no manifest"
    objects: dict[str, dict[str, Any]] = {}
    for path in KUBERNETES:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                assert {"apiVersion", "kind", "metadata"} <= set(doc), f"{path.name}: not a Kubernetes object"
                objects[doc["kind"]] = doc
    return objects


def test_kubernetes_deployment_has_two_replicas_probes_on_healthz_and_known_variables() -> None:
    objects = kubernetes_objects()
    assert {"Secret", "ConfigMap", "Deployment", "Service"} <= set(objects)
    secret, config, deployment = objects["Secret"], objects["ConfigMap"], objects["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]

    secret_keys, config_keys = set(secret["stringData"]), set(config["data"])
    assert secret_keys <= KNOWN_ENV and config_keys <= KNOWN_ENV, (secret_keys | config_keys) - KNOWN_ENV
    assert secret_keys <= SECRETS, f"not secret, belongs in the ConfigMap: {secret_keys - SECRETS}"
    assert not config_keys & SECRETS, f"secrets in the ConfigMap: {config_keys & SECRETS}"
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ROOTLY_API_TOKEN", "DATABASE_URL"} <= secret_keys
    assert secret["stringData"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    refs = {(k, v["name"]) for source in container["envFrom"] for k, v in source.items()}
    assert refs == {("configMapRef", config["metadata"]["name"]), ("secretRef", secret["metadata"]["name"])}
    assert {e["name"] for e in container.get("env", [])} <= KNOWN_ENV

    [port] = container["ports"]
    assert str(port["containerPort"]) == config["data"]["PORT"]
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] in (port["name"], port["containerPort"])
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert (
        annotations["prometheus.io/path"] == "/metrics" and annotations["prometheus.io/port"] == config["data"]["PORT"]
    )

    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["terminationGracePeriodSeconds"] > SHUTDOWN_GRACE
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert labels.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert objects["Service"]["spec"]["selector"] == labels
