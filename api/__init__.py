"""Dripstone's HTTP API (FastAPI): the keyed /v1 API and the provider webhooks."""
