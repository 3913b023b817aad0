"""Simulating a flow before it runs: the real JourneyWorkflow on Temporal's time-skipping
test server, against a throwaway copy of the contacts' read models, with recorders in
place of every provider, webhook, script and team notification (issue 16)."""
