"""The embedded dev stack: Temporal's dev server (SQLite file under data/), the worker
in-process, and the sample welcome drip with a few sample contacts."""

import asyncio
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from domain.events import ContactEvent, EventType
from workflows import search_attributes as sa

SAMPLE_FLOW = Path(__file__).parent / "samples" / "welcome.yaml"

# Fixed event ids make the demo idempotent: a second run appends nothing new, so it
# enrolls nobody twice.
SAMPLE_CONTACTS = [
    (
        "c-ada",
        {"email": "ada@example.com", "phone": "+14155550101", "attributes": {"first_name": "Ada"}},
        [],
    ),
    ("c-grace", {"email": "grace@example.com", "attributes": {"first_name": "Grace"}}, []),
    (
        "c-linus",
        {
            "email": "linus@example.com",
            "phone": "+14155550103",
            "attributes": {"first_name": "Linus"},
        },
        ["engaged"],
    ),
]


class PortTaken(RuntimeError):
    pass


def check_ports_free(ports: dict[str, int]) -> None:
    for label, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise PortTaken(
                    f"port {port} ({label}) is already in use. Another dev stack may be running: "
                    f"stop it, or pick other ports with --port/--ui-port."
                )


def start_dev_server(
    temporal_bin: str, data_dir: Path, port: int, ui_port: int, namespace: str
) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    # Handed to the server process, which outlives this function: no `with`.
    log_file = open(data_dir / "temporal-server.log", "ab")  # noqa: SIM115
    command = [
        temporal_bin,
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        namespace,
        "--log-level",
        "warn",
    ]
    for key in sa.ALL:
        command += ["--search-attribute", f"{key.name}={_sa_type(key)}"]
    return subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)


def _sa_type(key) -> str:
    return {"KEYWORD": "Keyword", "INT": "Int"}[key.indexed_value_type.name]


async def wait_for_server(connect, process: subprocess.Popen, timeout: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"the Temporal dev server exited with code {process.returncode}; "
                "see data/temporal-server.log"
            )
        try:
            return await connect()
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(
                    "the Temporal dev server did not come up within "
                    f"{timeout:.0f}s; see data/temporal-server.log"
                ) from None
            await asyncio.sleep(0.5)


def sample_events(now: datetime | None = None) -> list[ContactEvent]:
    now = now or datetime.now(UTC)
    events = []
    for contact_id, profile, tags in SAMPLE_CONTACTS:
        events.append(
            ContactEvent(
                event_id=f"demo-{contact_id}-created",
                type=EventType.CONTACT_CREATED,
                contact_id=contact_id,
                occurred_at=now,
                source="demo",
                payload=profile,
            )
        )
        events += [
            ContactEvent(
                event_id=f"demo-{contact_id}-tag-{tag}",
                type=EventType.TAG_ADDED,
                contact_id=contact_id,
                occurred_at=now,
                source="demo",
                payload={"tag": tag},
            )
            for tag in tags
        ]
        events.append(
            ContactEvent(
                event_id=f"demo-{contact_id}-signup",
                type=EventType.FORM_SUBMITTED,
                contact_id=contact_id,
                occurred_at=now,
                source="demo",
                payload={"form_id": "newsletter", "page": "/signup"},
            )
        )
    return events
