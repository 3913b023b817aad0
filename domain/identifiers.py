"""Identifier formats shared by events, flows and workflow ids.

Ids end up in Temporal workflow ids and search attributes, which ops read in the UI
and which are not encrypted, so they must be opaque: no e-mail addresses or phone
numbers ('@' and '+' are refused) and no '/' (the workflow-id separator).
"""

from typing import Annotated

from pydantic import StringConstraints

ContactId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$", strip_whitespace=True)
]
FlowId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", strip_whitespace=True)
]
StepId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", strip_whitespace=True)
]
EventId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,200}$", strip_whitespace=True)
]
