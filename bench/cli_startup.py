"""How long the `dripstone` command takes to start and answer: `--help` and a few
read-only commands, each run as a fresh process against a fresh migrated SQLite data
folder, beside a baseline measured in the same run (`python -c pass`, `python -c
"import typer"`). Figures are medians of --repeat runs; targets: `--help` under 1 s,
read-only commands under 2 s.

Every case runs in two modes unless --modes says otherwise:

- `configured`: the environment as it is. With PYTHONDONTWRITEBYTECODE set and a venv
  installed without bytecode (uv's default), every module is compiled from source at
  every start, which costs more than anything the CLI does;
- `cached`: the same, with a bytecode cache of the bench's own (PYTHONPYCACHEPREFIX in
  the temporary folder, warmed by one untimed run), as a venv synced with
  `uv sync --compile-bytecode` or a normal Python set-up would have.

`dripstone journeys` needs Temporal: it is measured on a dev server of the bench's own
(the binary in DRIPSTONE_TEMPORAL_BIN, else toolchain/temporal_cli.sh's) unless
--no-temporal. Nothing asserts on these times: tests/bench/ only runs a tiny version.

    .venv/bin/python -m bench.cli_startup
    .venv/bin/python -m bench.cli_startup --repeat 3 --no-temporal --modes configured
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cli" / "samples" / "welcome.yaml"
HELP_TARGET = 1.0
READ_TARGET = 2.0
MODES = ("configured", "cached")

BASELINES = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import typer'": ["-c", "import typer"],
}
# label -> dripstone arguments; all read-only.
COMMANDS = {
    "dripstone --help": ["--help"],
    "dripstone flow list": ["flow", "list"],
    "dripstone flow versions welcome": ["flow", "versions", "welcome"],
    "dripstone flow diff welcome 1 2": ["flow", "diff", "welcome", "1", "2"],
    "dripstone dispatch list": ["dispatch", "list"],
    "dripstone mailing list": ["mailing", "list"],
}
JOURNEYS = {"dripstone journeys": ["journeys"]}


@dataclass
class Case:
    label: str
    mode: str
    target: float | None  # None: a baseline
    seconds: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def verdict(self) -> str:
        if self.error:
            return "failed"
        if self.target is None:
            return "baseline"
        return "met" if self.median < self.target else "not met"


def dripstone_command() -> list[str]:
    script = Path(sys.executable).with_name("dripstone")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def environment(work: Path, mode: str, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DRIPSTONE_DATABASE_URL", "PYTHONPYCACHEPREFIX")
    }
    env.update(extra, DRIPSTONE_DATA_DIR=str(work / "data"))
    if mode == "cached":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str | None]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return elapsed, f"exit {done.returncode}: " + " | ".join(tail)
    return elapsed, None


def prepare(work: Path, env: dict[str, str]) -> None:
    """A migrated SQLite database holding two versions of the sample flow."""
    cli = dripstone_command()
    changed = work / "welcome-v2.yaml"
    changed.write_text(
        SAMPLE.read_text(encoding="utf-8").replace(
            "name: Welcome drip", "name: Welcome drip (v2)", 1
        ),
        encoding="utf-8",
    )
    for args in (
        ["db", "migrate"],
        ["flow", "publish", str(SAMPLE)],
        ["flow", "publish", str(changed)],
    ):
        _, error = run_once(cli + args, env, work)
        if error:
            raise SystemExit(f"set-up failed: dripstone {' '.join(args)}: {error}")


def measure(
    cases: dict[str, list[str]],
    target_of,
    modes,
    repeat: int,
    work: Path,
    extra_env: dict[str, str],
    say,
) -> list[Case]:
    results = []
    for mode in modes:
        env = environment(work, mode, extra_env)
        for label, argv in cases.items():
            case = Case(label, mode, target_of(label))
            run_once(argv, env, work)  # untimed: warms the OS file cache (and the pycache)
            for _ in range(repeat):
                elapsed, case.error = run_once(argv, env, work)
                if case.error:
                    break
                case.seconds.append(elapsed)
            say(f"  {mode:<10} {label}: " + (case.error or f"{case.median:.2f} s"))
            results.append(case)
    return results


def target_for(label: str) -> float | None:
    if label in BASELINES:
        return None
    return HELP_TARGET if label.endswith("--help") else READ_TARGET


def start_temporal():
    """(environment for the CLI, stop()) with a dev server of the bench's own."""
    import asyncio

    from bench.enrollment import start_dev_server

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(start_dev_server())  # sets DRIPSTONE_CODEC_KEYS
    env = {
        "DRIPSTONE_TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
        "DRIPSTONE_CODEC_KEYS": os.environ["DRIPSTONE_CODEC_KEYS"],
    }

    def stop() -> None:
        loop.run_until_complete(server.shutdown())
        loop.close()

    return env, stop


def bytecode_note() -> str:
    import typer

    precompiled = (Path(typer.__file__).parent / "__pycache__").is_dir()
    writes = "off (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    return (
        f"site-packages precompiled: {'yes' if precompiled else 'no'}; "
        f"bytecode writing: {writes}"
    )


def render(results: list[Case], out=print) -> None:
    out("")
    out(
        f"{'case':<34} {'mode':<10} {'median s':>9} {'min s':>7} {'max s':>7} "
        f"{'target':>8}  result"
    )
    for case in results:
        if case.error:
            out(
                f"{case.label:<34} {case.mode:<10} {'-':>9} {'-':>7} {'-':>7} "
                f"{'':>8}  failed: {case.error}"
            )
            continue
        target = f"< {case.target:.0f} s" if case.target else ""
        out(
            f"{case.label:<34} {case.mode:<10} {case.median:>9.2f} {min(case.seconds):>7.2f} "
            f"{max(case.seconds):>7.2f} {target:>8}  {case.verdict}"
        )
    for mode in dict.fromkeys(c.mode for c in results):
        judged = [c for c in results if c.mode == mode and c.target is not None]
        met = sum(c.verdict == "met" for c in judged)
        out(
            f"targets ({mode}): {met} of {len(judged)} met "
            f"(--help < {HELP_TARGET:.0f} s, read-only commands < {READ_TARGET:.0f} s)"
        )


def main(argv: list[str] | None = None) -> list[Case]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated: configured, cached"
    )
    parser.add_argument(
        "--no-temporal",
        action="store_true",
        help="skip `dripstone journeys` (needs a Temporal dev server)",
    )
    options = parser.parse_args(argv)
    modes = [m.strip() for m in options.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes: choose among {', '.join(MODES)}")

    def say(line: str) -> None:
        print(line, flush=True)

    work = Path(tempfile.mkdtemp(prefix="dripstone-cli-startup-"))
    stop = None
    try:
        extra: dict[str, str] = {}
        cases = {label: [sys.executable, *args] for label, args in BASELINES.items()}
        cases |= {label: dripstone_command() + args for label, args in COMMANDS.items()}
        if not options.no_temporal:
            say("starting a Temporal dev server...")
            extra, stop = start_temporal()
            cases |= {label: dripstone_command() + a for label, a in JOURNEYS.items()}
        prepare(work, environment(work, "configured", extra))
        say(
            f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {bytecode_note()}"
        )
        say(
            f"{options.repeat} timed runs per case, after one untimed run; data in {work} "
            "(removed at the end)"
        )
        results = measure(cases, target_for, modes, options.repeat, work, extra, say)
    finally:
        if stop is not None:
            stop()
        shutil.rmtree(work, ignore_errors=True)
    render(results)
    return results


if __name__ == "__main__":
    main()
