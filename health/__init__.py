"""Liveness and readiness: the checks both processes share, and the worker's own small
HTTP server for its probes (the API serves its probes with its routes)."""
