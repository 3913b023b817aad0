"""The Problem record every validation rule returns."""

from typing import Literal

from pydantic import BaseModel

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    step_id: str | None
    field: str
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"step {self.step_id}" if self.step_id else "flow"
        return f"{self.severity}: {where}, {self.field}: {self.message} [{self.code}]"


def missing(step_id: str | None, field: str, what: str) -> Problem:
    return Problem(step_id=step_id, field=field, code="missing_setting", message=f"{what} is required")
