"""Every table the engine declares, on one MetaData: what migrations compare against and
what tools that touch every table (tests' cleanup) read. Importing every table module
here means a caller of `metadata` never depends on which of them it imported first."""

# noqa: F401 below: imported to declare their tables.
from projections import (  # noqa: F401
    change_schema,
    experiment_schema,
    mailing_schema,
    schema,
    step_schema,
    topic_schema,
)
from projections.metadata import metadata

__all__ = ["metadata"]
