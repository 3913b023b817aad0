"""`dripstone flow migrate` refuses bad arguments at the edge, naming the option and the
reason, before anything moves (the migration itself: tests/workflows and tests/api)."""

from tests.cli.test_flow_cli import dripstone, write  # noqa: F401  (the fixture)

FLOW = {
    "id": "cli-mig",
    "trigger": {"event": "form.submitted"},
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hi", "body": "."},
        {"id": "pause", "kind": "wait", "delay": "1d"},
    ],
}


def test_bad_arguments_are_refused_naming_the_option(dripstone, tmp_path):  # noqa: F811
    dripstone("flow", "publish", write(tmp_path, "v1.yaml", FLOW))
    second = {**FLOW, "steps": [*FLOW["steps"], {"id": "bye", "kind": "exit"}]}
    dripstone("flow", "publish", write(tmp_path, "v2.yaml", second))
    assert (
        "--map 'pause': expected OLD=NEW"
        in dripstone("flow", "migrate", "cli-mig", "--to", "2", "--map", "pause", code=2).stderr
    )
    assert (
        "step 'pause' is mapped twice"
        in dripstone(
            "flow",
            "migrate",
            "cli-mig",
            "--to",
            "2",
            "--map",
            "pause=bye",
            "--map",
            "pause=hello",
            code=2,
        ).stderr
    )
    assert (
        "--from: is the target version 2"
        in dripstone("flow", "migrate", "cli-mig", "--to", "2", "--from", "2", code=2).stderr
    )
    assert (
        "version 2 has no step 'later'"
        in dripstone(
            "flow", "migrate", "cli-mig", "--to", "2", "--from", "1", "--map", "pause=later", code=2
        ).stderr
    )
    assert "version" in dripstone("flow", "migrate", "cli-mig", "--to", "7", code=2).stderr
    assert "nope" in dripstone("flow", "migrate", "nope", "--to", "1", code=2).stderr
    # No journey runs: nothing to move, and Temporal is not needed to say so.
    assert "nothing to move" in dripstone("flow", "migrate", "cli-mig", "--to", "2").stdout
