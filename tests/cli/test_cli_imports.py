"""What starting the CLI loads: `dripstone --help`, and loading a command group, import
no database layer, Temporal, worker or domain models; the commands import those
themselves. (Start-up times are measured by bench/cli_startup.py, never asserted.)"""

import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "alembic",
    "temporalio",
    "worker",
    "workflows",
    "activities",
    "api",
    "fastapi",
    "jinja2",
    "phonenumbers",
    "domain",
    "projections",
    "routing",
    "settings",
)

PROBE = """
import sys
from cli.main import app
try:
    app({args!r})
except SystemExit:
    pass
{imports}
print("loaded:", *sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r})))
"""


def _loaded(args: list[str], imports: str = "") -> str:
    code = PROBE.format(args=args, imports=imports, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.rsplit("loaded:", 1)[1].strip()


def test_help_loads_no_heavy_module():
    assert _loaded(["--help"]) == ""


def test_command_group_modules_load_no_heavy_module():
    modules = (
        "cli.flow_commands",
        "cli.dispatch_commands",
        "cli.journey_control",
        "cli.mailing_commands",
    )
    imports = "\n".join(f"import {m}" for m in modules)
    assert _loaded(["--help"], imports) == ""
