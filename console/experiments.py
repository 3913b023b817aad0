"""Experiments and their results, for the console's experiments page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


def experiment_results(conn: Connection) -> list[dict[str, Any]]:
    # Filled in from the experiments module once it exists (issue 15, A/B tests).
    return []
