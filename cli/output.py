"""Where the CLI writes: results to stdout, errors to stderr with exit status 2 (1 for
a database whose schema this release cannot use).

Written to a terminal, output fits its width. Written elsewhere (a pipe, a file, a
test's capture), rich would assume 80 columns and cut tables to fit; there the width is
unlimited instead, so rows print whole, unless COLUMNS asks for a width."""

import os
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from typer.core import TyperGroup

# Wide enough for any row: tables take their natural width, never more.
UNLIMITED_WIDTH = 10_000


class CliConsole(Console):
    """A terminal's width on a terminal (or COLUMNS when set), else unlimited."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not os.environ.get("COLUMNS") and not self.is_terminal:
            return ConsoleDimensions(UNLIMITED_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


console = CliConsole()
err = CliConsole(stderr=True)


def fail(message: str) -> NoReturn:
    # markup off: messages quote user input and problem text, which may contain [brackets].
    err.print("[red]error:[/red] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


class SchemaCheckedGroup(TyperGroup):
    """The root command group: a database whose schema is behind (or newer and unknown),
    found by any command when it opens the database, stops it with the message and exit
    status 1, never a traceback."""

    def invoke(self, ctx) -> Any:
        try:
            if "--help" not in (*getattr(ctx, "_protected_args", ()), *ctx.args):
                configure_cli_logging()
            return super().invoke(ctx)
        except Exception as exc:
            problems = _settings_problems(exc)
            if problems is not None:
                fail(f"settings: {problems}")
            if not _stops_with_status_1(exc):
                raise
            err.print("[red]error:[/red] ", end="")
            err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None


def configure_cli_logging() -> None:
    """Log lines (the journeys' own, Temporal's core's) as the worker and the API write
    them (DRIPSTONE_LOG_FORMAT: JSON in production, DRIPSTONE_LOG_LEVEL), but on stderr:
    stdout is the command's output. With settings that do not validate, nothing is set
    up: the command names them as soon as it reads them."""
    from pydantic import ValidationError

    from settings import Settings
    from telemetry.logs import configure_logging

    try:
        settings = Settings()
    except ValidationError:
        return
    configure_logging(settings, to="stderr")


def _settings_problems(exc: Exception) -> str | None:
    """Bad DRIPSTONE_* settings, named by their variables, instead of pydantic's report
    and a traceback (exit status 2, as for any bad input)."""
    pydantic_core = sys.modules.get("pydantic_core")
    if (
        pydantic_core is None
        or not isinstance(exc, pydantic_core.ValidationError)
        or exc.title != "Settings"
    ):
        return None
    from settings import settings_problems  # loaded already: a Settings error was raised

    return settings_problems(exc)


def _stops_with_status_1(exc: Exception) -> bool:
    """A SchemaError, a KeyConfigError (codec keys missing or bad), or TemporalUnreachable
    (its message names the address and the TLS settings used). Their modules are not
    imported here: loading the schema check (Alembic) would cost every command, even
    `--help`, and an error of a class whose module was never loaded cannot be raised."""
    schema = sys.modules.get("projections.schema_version")
    keys = sys.modules.get("codec.keys")
    client = sys.modules.get("codec.client")
    return (
        (schema is not None and isinstance(exc, schema.SchemaError))
        or (keys is not None and isinstance(exc, keys.KeyConfigError))
        or (client is not None and isinstance(exc, client.TemporalUnreachable))
    )
