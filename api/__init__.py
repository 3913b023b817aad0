"""Dripstone's HTTP API (FastAPI): provider webhooks now, the rest of the API later."""
