"""Where the CLI writes: results to stdout, errors to stderr with exit status 2 (1 for
a database whose schema this release cannot use)."""

from typing import Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

console = Console()
err = Console(stderr=True)


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
        from codec.keys import KeyConfigError
        from projections.schema_version import SchemaError

        try:
            return super().invoke(ctx)
        except (SchemaError, KeyConfigError) as exc:  # KeyConfigError: codec keys missing or bad
            err.print("[red]error:[/red] ", end="")
            err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
