"""The small flow the per-step analytics tests drive: send email, wait, condition."""

from tests.journey_harness import flow_from

STATS_FLOW = flow_from(
    {
        "id": "stats-flow",
        "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": "stats"}]},
        "steps": [
            {"id": "mail", "kind": "send_email", "subject": "Hello", "body": "Hi."},
            {"id": "wait", "kind": "wait", "delay": "2d"},
            {
                "id": "check",
                "kind": "branch",
                "then": "tag",
                "otherwise": "vip-sms",
                "condition": {"kind": "opened_email", "flow_id": "stats-flow", "step_id": "mail"},
            },
            {"id": "tag", "kind": "add_tag", "tag": "engaged"},
            {
                "id": "vip-sms",
                "kind": "send_sms",
                "text": "For VIPs",
                "run_if": {"kind": "has_tag", "tag": "vip"},
                "on_false": "skip",
            },
        ],
    }
)


def counts(stats: dict, step_id: str, *names: str) -> tuple:
    row = next(r for r in stats["steps"] if r["step_id"] == step_id)
    return tuple(row[name] for name in names)
