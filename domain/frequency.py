"""Frequency caps [issue 14]: at most `messages` messages per contact and channel within
`within`, across every flow and mailing. Transactional flows and mailings are exempt.
Pure: read by settings, the journey's send activities and the mailing batches."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.durations import Duration, format_duration

CappedChannel = Literal["email", "sms"]


class FrequencyCap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: int = Field(ge=1, description="Messages a contact may get in the window.")
    within: Duration = Field(description="The window, counted back from the send, e.g. 7d.")

    def describe(self, channel: str) -> str:
        return (
            f"frequency cap: {self.messages} {channel} message(s) within "
            f"{format_duration(self.within)}"
        )


FrequencyCaps = dict[CappedChannel, FrequencyCap]
