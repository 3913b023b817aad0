"""Every table the engine declares, on one MetaData: what migrations compare against and
what tools that touch every table (tests' cleanup) read. Importing the modules here, not
from projections.schema, keeps schema free of imports back into its dependants."""

from projections import change_schema, mailing_schema, step_schema  # noqa: F401  (declare their tables)
from projections.schema import metadata

__all__ = ["metadata"]
