"""Where the CLI writes: results to stdout, errors to stderr with exit status 2."""

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def fail(message: str) -> NoReturn:
    # markup off: messages quote user input and problem text, which may contain [brackets].
    err.print("[red]error:[/red] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)
