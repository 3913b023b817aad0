"""`python -m patches [--released NAME=ISO-TIME ...] [--no-temporal] [--no-replay]`

For every patch in today's workflow code: where it is, its stage, when it was released
(the first commit that wrote it, unless --released says when a deployment ran it), how
many running executions started before that (Temporal's visibility), and which stored
histories would stop replaying without it. A patch is READY to deprecate when Temporal
answers 0; a deprecated one is READY to remove on the same test against the date of
its deprecation. docs/patches.md says how to retire one."""

import argparse
import asyncio
from datetime import datetime

from patches.catalogue import find_patches
from patches.readiness import running_before
from patches.replay import failing_without
from telemetry.sdk_metrics import forward_core_logs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m patches", description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--released",
        action="append",
        default=[],
        metavar="NAME=ISO-TIME",
        help="When a deployment first ran the patch (default: its first commit).",
    )
    parser.add_argument(
        "--no-temporal",
        action="store_true",
        help="Do not ask Temporal (readiness then stays unknown).",
    )
    parser.add_argument(
        "--no-replay", action="store_true", help="Do not replay the stored histories."
    )
    args = parser.parse_args()
    # The replays fail on purpose; the SDK core would log each failure as a warning.
    # Its runtime is released at exit (telemetry/sdk_metrics.py), before Python finalizes.
    forward_core_logs(core_level="ERROR")
    released = {}
    for item in args.released:
        name, sep, when = item.partition("=")
        try:
            released[name] = datetime.fromisoformat(when)
        except ValueError:
            parser.error(
                f"--released {item!r}: expected NAME=ISO-TIME (e.g. 2026-11-24T00:00:00+00:00)"
            )
        if not sep or released[name].tzinfo is None:
            parser.error(f"--released {item!r}: expected NAME=ISO-TIME with a UTC offset")
    known = sorted(patch.name for patch in find_patches())
    for name in sorted(set(released) - set(known)):
        parser.error(f"--released {name}: no patch of that name; known: {', '.join(known)}")
    asyncio.run(report(released, not args.no_temporal, not args.no_replay))


async def report(released: dict, ask_temporal: bool, replay: bool) -> None:
    client, why = None, "not asked (--no-temporal)"
    if ask_temporal:
        from settings import Settings
        from worker import connect

        settings = Settings()
        try:
            client = await connect(settings)
        except RuntimeError as exc:
            why = f"Temporal at {settings.temporal_address} unreachable: {str(exc)[:80]}"
    for patch in find_patches():
        when = released.get(patch.name, patch.introduced)
        source = "--released" if patch.name in released else "first commit"
        print(f"{patch.name}  [{patch.stage}]  {patch.where}  ({', '.join(patch.workflow_types)})")
        print(f"  released: {when.isoformat() if when else 'unknown'} ({source})")
        verdict = f"unknown: {why}"
        if client is not None and when is not None:
            count = await running_before(client, patch.workflow_types, when)
            print(f"  running executions started before it: {count}")
            verdict = readiness_verdict(patch, count, patch.name in released)
        if replay:
            failing = await failing_without(patch.name)
            print(
                f"  stored histories that replay only with the old branch: "
                f"{', '.join(failing) or 'none'}"
            )
        print(f"  {verdict}")


def readiness_verdict(patch, count: int, released_given: bool) -> str:
    """The last line for a patch Temporal answered about: `count` runs started before
    its release date (from --released when `released_given`, else its first commit)."""
    if count:
        return f"not ready: {count} run(s) may still take the old branch"
    if not released_given:
        # A commit's date is earlier than its deploy: runs started in between ran the old
        # code and are not counted, so "ready" would be a guess.
        event = "deployed" if patch.stage == "patched" else "deprecated it"
        return (
            f"unknown: no running execution predates its first commit here, but without "
            f"--released its deploy date is not known (runs started between that commit "
            f"and the deploy ran the old code); give "
            f"--released {patch.name}=<when the release with it {event}>"
        )
    return f"READY ({'deprecate_patch' if patch.stage == 'patched' else 'remove'})"


if __name__ == "__main__":
    main()
