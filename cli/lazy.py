"""Subcommands named by where they live ("cli.flow_commands:flow_app"), imported only when
one of them runs or its own help is asked for.

`dripstone --help` lists them from the one-line help given here, without importing
their modules; `dripstone flow list` imports cli.flow_commands and no other command
module. Each command module imports what its commands need (the database layer,
Temporal, the domain models) inside those commands, so loading it stays cheap too."""

from importlib import import_module
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


class LazyCommand(TyperCommand):
    """Stands in for a Typer app until it is used: the real click group replaces it as
    soon as a context is made for it."""

    def __init__(self, name: str, target: str, help: str) -> None:
        super().__init__(name=name, help=help, short_help=help, add_help_option=False)
        self.target = target
        self._loaded: TyperGroup | None = None

    def load(self) -> TyperGroup:
        if self._loaded is None:
            module, _, attribute = self.target.partition(":")
            command = typer.main.get_group(getattr(import_module(module), attribute))
            command.name = self.name
            if not command.help:
                command.help = self.help
            self._loaded = command
        return self._loaded

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: typer.Context | None = None,
        **extra: Any,
    ) -> typer.Context:
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def get_usage(self, ctx: typer.Context) -> str:
        return self.load().get_usage(ctx)

    def get_help(self, ctx: typer.Context) -> str:
        return self.load().get_help(ctx)

    def shell_complete(self, ctx: typer.Context, incomplete: str) -> list:
        return self.load().shell_complete(ctx, incomplete)


def lazy_commands(base: type, commands: dict[str, tuple[str, str]]) -> type:
    """A subclass of the group class `base` that also offers `commands`: name ->
    ("module:attribute", one-line help), listed after the group's own commands."""

    class LazyGroup(base):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for name, (target, help_text) in commands.items():
                self.commands.setdefault(name, LazyCommand(name, target, help_text))

    LazyGroup.__name__ = f"Lazy{base.__name__}"
    LazyGroup.__qualname__ = LazyGroup.__name__
    return LazyGroup
