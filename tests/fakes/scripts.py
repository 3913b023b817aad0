"""A scripts module for run_script tests (DRIPSTONE_SCRIPTS_MODULE=tests.fakes.scripts)."""

import threading

# Set by a test to hold "hold" until the test lets it go, so the test can see the
# journey finish while the script is still running.
RELEASE = threading.Event()
STARTED = threading.Event()


def hold(contact_id: str, arguments: dict) -> dict:
    STARTED.set()
    released = RELEASE.wait(timeout=30)
    return {"contact_id": contact_id, "released": released, "plan": arguments.get("plan")}


def greet(contact_id: str, arguments: dict) -> dict:
    return {"greeting": f"{arguments.get('greeting', 'hello')} {contact_id}"}


SCRIPTS = {"hold": hold, "greet": greet}
