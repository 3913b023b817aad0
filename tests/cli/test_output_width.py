"""Tables the CLI prints are whole when the output is not a terminal (a pipe, a file):
rich would otherwise assume 80 columns and cut them. COLUMNS, when set, still rules."""

import io

from rich.table import Table

from cli.output import UNLIMITED_WIDTH, CliConsole

WIDE = "journey-" + "x" * 150


def _printed(console: CliConsole) -> str:
    table = Table(title="Journeys")
    for column in ("contact", "workflow id"):
        table.add_column(column)
    table.add_row("c-1", WIDE)
    console.print(table)
    return console.file.getvalue()


def test_a_table_is_not_cut_when_the_output_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert WIDE in _printed(CliConsole(file=io.StringIO()))


def test_columns_still_sets_the_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    printed = _printed(CliConsole(file=io.StringIO()))
    assert WIDE not in printed and max(map(len, printed.splitlines())) <= 80


def test_a_terminal_keeps_its_width(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert CliConsole(file=io.StringIO(), force_terminal=True).width < UNLIMITED_WIDTH
