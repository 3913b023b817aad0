"""Every table the engine declares, on one MetaData: what migrations compare against and
what tools that touch every table (tests' cleanup) read. Importing every table module
here means a caller of `metadata` never depends on which of them it imported first."""

from projections import change_schema, mailing_schema, schema, step_schema  # noqa: F401  (declare their tables)
from projections.metadata import metadata

__all__ = ["metadata"]
