"""The Dockerfile and deploy/compose.yaml agree with the code, checked without a
container runtime (this machine may have none, and no image registry): every setting
they name exists, every command they run is a real `dripstone` command with real
options, the ports line up with settings and probes, and the image is built from the
lock file as a non-root user."""

import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app as cli
from settings import Settings
from tests.deploy.test_sizing_and_manifests import setting_names
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE_TEXT = (ROOT / "deploy" / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if s.get("image") == "dripstone:latest"}


def instructions(keyword: str) -> list[str]:
    return re.findall(rf"^{keyword}\s+(.+)$", DOCKERFILE, flags=re.MULTILINE)


def entrypoint() -> list[str]:
    [line] = instructions("ENTRYPOINT")
    return yaml.safe_load(line)


def test_every_setting_the_image_and_compose_name_exists():
    pattern = r"\b(DRIPSTONE_[A-Z0-9_]+|DATABASE_URL)\b"
    named = set(re.findall(pattern, DOCKERFILE)) | set(re.findall(pattern, COMPOSE_TEXT))
    assert {"DRIPSTONE_WORKER_HEALTH_PORT", "DRIPSTONE_CODEC_KEYS", "DATABASE_URL"} <= named
    assert named - setting_names() == set()


def test_compose_runs_the_migration_a_worker_and_the_api_from_one_image():
    commands = {name: service["command"] for name, service in OURS.items()}
    assert commands["migrate"] == ["db", "migrate"]
    assert commands["worker"] == ["worker"]
    assert commands["api"][0] == "api"
    assert {s["build"]["context"] for s in OURS.values()} == {".."}  # the repository root
    # Nothing but the migration job migrates, and nothing starts before it is done.
    for name in ("worker", "api"):
        assert OURS[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


@pytest.mark.parametrize(
    "args",
    [
        *[pytest.param(s["command"], id=f"compose-{n}") for n, s in OURS.items()],
        pytest.param(yaml.safe_load(instructions("CMD")[0]), id="dockerfile-cmd"),
    ],
)
def test_every_command_the_image_runs_is_a_dripstone_command(args):
    assert entrypoint() == ["dripstone"]
    # --help after the arguments: click parses them all first, so an unknown command or
    # option fails (exit 2) instead of printing help.
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_every_command_the_kubernetes_manifests_run_is_a_dripstone_command():
    found = []
    for manifest in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        for command in re.findall(r"command:\s*(\[.*\])", manifest.read_text()):
            args = yaml.safe_load(command)
            assert args[0] == "dripstone", (manifest.name, args)
            found.append(args)
            result = CliRunner().invoke(cli, [*args[1:], "--help"])
            assert result.exit_code == 0, (manifest.name, args, result.output)
    assert len(found) >= 3


def container_port(mapping: str) -> int:
    return int(str(mapping).rsplit(":", 1)[-1])


def probed_port(service: dict) -> int:
    [url] = re.findall(r"http://[^/]+/readyz", " ".join(service["healthcheck"]["test"]))
    return int(url.split(":")[2].split("/")[0])


def test_ports_agree_with_settings_probes_and_the_image():
    exposed = {int(p) for p in instructions("EXPOSE")[0].split()}
    api = OURS["api"]
    api_port = int(api["command"][api["command"].index("--port") + 1])
    assert {container_port(p) for p in api["ports"]} == {api_port}
    assert probed_port(api) == api_port
    worker = OURS["worker"]["environment"]
    health_port = int(worker["DRIPSTONE_WORKER_HEALTH_PORT"])
    assert probed_port(OURS["worker"]) == health_port
    sdk_metrics = int(worker["DRIPSTONE_TEMPORAL_METRICS_PORT"])
    assert {api_port, health_port, sdk_metrics} <= exposed
    # Valid setting values, and the SDK's metrics do not take the probes' port.
    parsed = Settings(
        _env_file=None, worker_health_port=health_port, temporal_metrics_port=sdk_metrics
    )
    assert parsed.worker_health_port != parsed.temporal_metrics_port


def test_processes_reach_the_temporal_and_postgres_services_compose_runs():
    env = OURS["api"]["environment"]
    host, port = env["DRIPSTONE_TEMPORAL_ADDRESS"].split(":")
    assert host in SERVICES and container_port(SERVICES[host]["ports"][0]) == int(port)
    database_host = re.search(r"@([^:/]+):", env["DATABASE_URL"]).group(1)
    assert database_host in SERVICES and "postgres" in SERVICES[database_host]["image"]
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_the_search_attributes_registered_are_the_ones_journeys_set():
    script = " ".join(SERVICES["temporal-search-attributes"]["command"])
    registered = dict(re.findall(r"(Dripstone\w+)=(\w+)", script))
    kinds = {"KEYWORD": "Keyword", "INT": "Int"}
    expected = {
        key.name: kinds[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]
        for key in sa.ALL
    }
    assert registered == expected


def test_the_image_installs_the_lock_file_as_a_non_root_user():
    stages = instructions("FROM")
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    syncs = [shlex.split(line) for line in instructions("RUN") if "uv sync" in line]
    assert syncs and all({"--frozen", "--no-dev"} <= set(args) for args in syncs)
    assert any("uv.lock" in line for line in instructions("COPY"))
    [user] = instructions("USER")
    assert user.strip() not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "data" in ignored  # nothing of the developer's machine
