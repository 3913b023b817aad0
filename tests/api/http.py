"""Starlette's TestClient announces a future move to httpx2 when first imported; it is
still the documented way to test a FastAPI app, so the notice is kept out of the run."""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: F401
