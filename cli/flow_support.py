"""What the `flow` commands share: the catalogue's connection with its refusals turned
into clean errors, reading flow files, printing problems, the deployment's setting for
internal webhook targets, and the line a publish prints."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import console, fail

if TYPE_CHECKING:  # imported by the functions that use them: loading them takes time
    from domain.flow import Flow
    from domain.validation import Problem

FlowIdArg = Annotated[str, typer.Argument(help="The flow's id")]

EnrollExistingOption = Annotated[
    bool | None,
    typer.Option(
        "--enroll-existing/--no-enroll-existing",
        help="Also enroll existing contacts who match "
        "(a backfill; default: as the flow's enrollment.existing_contacts says).",
    ),
]


@contextmanager
def catalogue(write: bool = False) -> Iterator:
    """A connection (a transaction when writing), with refusals turned into clean errors."""
    from sqlalchemy.exc import OperationalError

    from domain.flow_status import IllegalTransition
    from projections.database import open_checked
    from projections.flow_catalogue import CatalogueError
    from settings import Settings

    engine = None
    try:
        engine = open_checked(Settings().resolved_database_url)
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except (CatalogueError, IllegalTransition) as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"database: {exc.orig}")
    finally:
        if engine is not None:
            engine.dispose()


def read_document(path: Path) -> dict:
    from cli.flow_files import FlowFileError, read_flow_document

    try:
        return read_flow_document(path)
    except FlowFileError as exc:
        fail(str(exc))


def print_problems(problems: "list[Problem]") -> None:
    for problem in problems:
        console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)


def has_errors(problems: "list[Problem]") -> bool:
    return any(p.severity == "error" for p in problems)


def allow_private_targets() -> bool:
    """Whether webhooks and attachments may target internal addresses in this deployment:
    validation and publishing refuse such URLs unless the worker would fetch them."""
    from settings import Settings

    return Settings().webhook_allow_private_targets


def known_scripts() -> frozenset[str] | None:
    """The run_script names this deployment registers (docs/scripts.md); None when the
    module does not load here, so names go unchecked rather than all refused."""
    from activities.scripts import registered_names
    from settings import Settings

    return registered_names(Settings().scripts_module)


def known_topics() -> frozenset[str]:
    """The deployment's subscription topics: message steps must name one of them."""
    from settings import Settings

    return Settings().topic_ids


def preference_links() -> bool:
    """Whether this deployment configures preference links: `{{ preferences_url }}`
    needs them."""
    from settings import Settings

    return Settings().preference_links_enabled


def report_published(conn, published: "Flow") -> None:
    from domain.flow import FlowStatus
    from projections.flow_catalogue import get_status

    console.print(f"published flow {published.id!r} version {published.version}")
    if get_status(conn, published.id) == FlowStatus.PAUSED:
        console.print("the flow is paused: it enrolls new contacts once resumed")
