"""Every table the engine declares, on one MetaData: what migrations compare against and
what tools that touch every table (tests' cleanup) read. Importing the modules here, not
from projections.schema, keeps schema free of imports back into its dependants."""

# noqa: F401 below: imported to declare their tables.
from projections import change_schema, experiment_schema, mailing_schema, step_schema  # noqa: F401
from projections.schema import metadata

__all__ = ["metadata"]
