"""The Problem record every validation rule returns."""

from typing import Any, Literal

from pydantic import BaseModel

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    step_id: str | None
    field: str
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return self.describe()

    def describe(self, document: str = "flow") -> str:
        """One line; `document`: what a problem outside any step is in (flow, mailing)."""
        where = f"step {self.step_id}" if self.step_id else document
        return f"{self.severity}: {where}, {self.field}: {self.message} [{self.code}]"


def missing(step_id: str | None, field: str, what: str) -> Problem:
    return Problem(
        step_id=step_id, field=field, code="missing_setting", message=f"{what} is required"
    )


def step_id_at(document: dict[str, Any], loc: list[Any]) -> str | None:
    """The id of the step a pydantic error path (`steps.N....`) points into, if any."""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = document.get("steps") or []
        step = steps[loc[1]] if loc[1] < len(steps) else None
        return step.get("id") if isinstance(step, dict) else None
    return None
