"""What ScriptRunWorkflow records when a script gives up (run_script's failure)."""

from pydantic import BaseModel

from domain.contracts.actions import ActionRequest


class ScriptFailure(BaseModel):
    request: ActionRequest
    reason: str
