"""Retiring `workflow.patched` branches: which patches the workflow code has today,
since when, and whether any history from before one can still need it
(docs/patches.md). Run with `python -m patches`."""
