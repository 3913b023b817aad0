"""Traces, metrics and logs for the worker and API processes: built here from settings,
so worker.py and api/app.py only wire them in."""
