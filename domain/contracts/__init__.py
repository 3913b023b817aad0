"""What workflows and activities say to each other: the requests and outcomes of every
activity a workflow runs. Pure pydantic models (no I/O, nothing of ours outside domain),
so workflow code imports them without reaching into activities.

Stored histories hold these as JSON without class paths (the pydantic data converter),
so a model may move between modules freely; a field may only be added with a default."""
