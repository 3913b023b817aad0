"""What every event payload module builds on: the base model and the bounds on names.
A leaf, so the payload modules import it rather than each other."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Names that key read-model rows (products, plans, courses, forms, pages, funnels, lists)
# are bounded to their columns here, so an oversized one is refused at the edge with its
# field named instead of failing the projection's INSERT on PostgreSQL.
MAX_NAME_LENGTH = 200
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
# Optional names stay as lenient as before (an empty one means "none"), only bounded.
OptionalName = Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None
