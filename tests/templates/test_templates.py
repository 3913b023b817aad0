"""The ready-made flows in flow_templates/: each validates and publishes as shipped, and
each really contains the seed capability it claims ([003] mailing chain, [004] SMS
workflow templates)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from jinja2 import Environment, nodes

from domain import predicates as p
from domain.conditions import AllOf, AnyOf, ContactSnapshot, Not, evaluate, walk
from domain.flow import Flow, ReEntry
from domain.steps import contact_changes as cc
from domain.steps import flow_control as fc
from domain.steps import messaging as msg
from domain.validation import errors, parse_flow
from domain.validation.content import templated_fields
from projections.flow_catalogue import latest_version, publish

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "flow_templates"
EXPECTED = {
    "autoresponder",
    "reviews-request",
    "nps-survey",
    "nurture-campaign",
    "send-message",
    "mailing-chain",
}
PATHS = sorted(TEMPLATES_DIR.glob("*.yaml"))
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
# Step kinds after which control does not simply fall through to the following step.
_FORKS = (fc.Branch, fc.MultiBranch, fc.WaitForEvent, fc.RandomSplit, fc.Goal, fc.Exit)


def load(path: Path) -> Flow:
    flow, problems = parse_flow(yaml.safe_load(path.read_text(encoding="utf-8")))
    for problem in problems:
        print(f"{path.name}: {problem}")
    assert flow is not None, [str(x) for x in problems]
    assert not errors(problems), [str(x) for x in errors(problems)]
    return flow


def template(name: str) -> Flow:
    return load(TEMPLATES_DIR / f"{name.replace('_', '-')}.yaml")


def chain(flow: Flow, start: str | None) -> list:
    """The steps control runs through from `start` until a fork or the end."""
    steps = []
    while start is not None:
        step = flow.step(start)
        steps.append(step)
        if isinstance(step, _FORKS):
            break
        start = flow.following(step)
    return steps


def of_kind(flow: Flow, kind: type) -> list:
    return [s for s in flow.steps if isinstance(s, kind)]


def positive_leaves(condition) -> list:
    """Leaves that must hold for the condition to hold (not under a `not`)."""
    if isinstance(condition, (AllOf, AnyOf)):
        return [leaf for child in condition.conditions for leaf in positive_leaves(child)]
    if isinstance(condition, Not):
        return []
    return [condition]


def negated_leaves(condition) -> list:
    return [
        leaf
        for node in walk(condition)
        if isinstance(node, Not)
        for leaf in walk(node.condition)
        if not isinstance(leaf, (AllOf, AnyOf, Not))
    ]


def contact(*tags: str, **attributes) -> ContactSnapshot:
    phone = attributes.pop("phone", "+15555550100")
    email = attributes.pop("email", "pat@example.com")
    return ContactSnapshot(
        contact_id="c-1", phone=phone, email=email, attributes=attributes, tags=frozenset(tags)
    )


def triggers(flow: Flow, snapshot: ContactSnapshot) -> bool:
    return evaluate(flow.trigger.condition, snapshot, NOW)


# --- every template -------------------------------------------------------------------


def test_exactly_the_expected_templates_ship():
    assert {path.stem for path in PATHS} == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_validates_without_errors(path):
    flow = load(path)
    assert flow.id == path.stem  # the template is named after the flow it makes
    assert flow.name and flow.description
    assert flow.version == 0 and flow.published_at is None


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_publishes_as_version_one(engine, path):
    flow = load(path)
    with engine.begin() as conn:
        published = publish(conn, flow)
    assert published.version == 1
    with engine.connect() as conn:
        assert latest_version(conn, flow.id) == published


def test_all_templates_publish_side_by_side(engine):
    flows = [load(path) for path in PATHS]
    with engine.begin() as conn:
        assert [publish(conn, flow).version for flow in flows] == [1] * len(flows)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_round_trips_through_json(path):
    flow = load(path)
    assert Flow.model_validate(flow.model_dump(mode="json")) == flow


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_opens_with_a_comment_block_naming_its_seed(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert len(header) >= 5, "the file must open with a comment block explaining it"
    assert any("[003]" in line or "[004]" in line for line in header)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_every_step_has_a_name(path):
    flow = load(path)
    assert [s.id for s in flow.steps if not (s.name or "").strip()] == []


def _undefaulted(node: nodes.Node, guarded: bool = False) -> list[str]:
    if isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        found = _undefaulted(node.node, True) if node.node is not None else []
        for child in [*node.args, *(kw.value for kw in node.kwargs)]:
            found += _undefaulted(child)
        return found
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return [] if guarded else [node.name]
    found = []
    for child in node.iter_child_nodes():
        found += _undefaulted(child, guarded and isinstance(node, nodes.Getattr))
    return found


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_every_merge_tag_has_a_default(path):
    # Merge tags render with StrictUndefined: a missing field without a default would
    # fail the send instead of reading naturally.
    flow = load(path)
    env = Environment()
    missing = {
        f"{s.id}.{field}": names
        for s in flow.steps
        for field, text in templated_fields(s).items()
        if (names := _undefaulted(env.parse(text)))
    }
    assert missing == {}


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_trigger_has_and_or_filters_the_router_can_decide(path):
    flow = load(path)
    condition = flow.trigger.condition
    assert condition is not None
    kinds = {node.kind for node in walk(condition)}
    assert {"all", "any"} <= kinds, "trigger filters should combine AND and OR"
    # The router evaluates trigger filters in-process with domain.conditions.evaluate,
    # which decides tags and attributes (and all/any/not) only.
    assert kinds <= {"all", "any", "not", "has_tag", "attribute"}
    evaluate(condition, contact(), NOW)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_waits_for_a_reply_for_one_day_with_both_exits(path):
    flow = load(path)
    ids = {s.id for s in flow.steps}
    for step in of_kind(flow, fc.WaitForEvent):
        assert step.event == "sms.received"
        assert step.timeout == timedelta(days=1)
        assert step.on_event in ids and step.on_timeout in ids
        assert step.on_event != step.on_timeout


# --- autoresponder --------------------------------------------------------------------


def test_autoresponder_answers_new_texters_but_not_other_conversations():
    flow = template("autoresponder")
    assert flow.trigger.event == "sms.received"
    assert flow.re_entry == ReEntry.AFTER_EXIT
    assert flow.enrollment.existing_contacts is False
    assert triggers(flow, contact())
    assert not triggers(flow, contact(phone=None))
    # Customers (NPS, reviews) and leads (nurture) are in conversations of their own.
    for tag in ("customer", "lead", "sms-opted-out"):
        assert not triggers(flow, contact(tag)), tag


def test_autoresponder_never_answers_an_opt_out_and_varies_by_business_hours():
    flow = template("autoresponder")
    first = flow.steps[0]
    assert isinstance(first, fc.Branch)
    assert isinstance(first.condition, p.ReplyContains)
    assert "stop" in first.condition.keywords
    assert [type(s) for s in chain(flow, first.then)] == [fc.Exit]
    hours = flow.step(first.otherwise)
    assert isinstance(hours, fc.Branch) and isinstance(hours.condition, p.CurrentTime)
    for reply in (hours.then, hours.otherwise):
        kinds = [type(s) for s in chain(flow, reply)]
        assert kinds[0] is msg.SendSms
        assert {cc.AddTag, msg.NotifyTeam, fc.Wait} <= set(kinds)
        assert kinds[-1] is fc.Exit
    texts = {flow.step(hours.then).text, flow.step(hours.otherwise).text}
    assert len(texts) == 2


# --- send a message -------------------------------------------------------------------


def test_send_message_sends_one_sms_immediately():
    flow = template("send_message")
    assert len(flow.steps) == 1
    step = flow.steps[0]
    assert isinstance(step, msg.SendSms)
    assert step.when is None and step.run_if is None and step.audience is None
    assert flow.re_entry == ReEntry.NEVER
    assert flow.enrollment.existing_contacts is False


def test_send_message_trigger_filters_web_chat_or_inbound_call_opt_ins_never_messaged():
    flow = template("send_message")
    assert flow.trigger.event == "contact.created"
    assert triggers(flow, contact(opt_in_source="web_chat"))
    assert triggers(flow, contact(opt_in_source="inbound_call"))
    assert not triggers(flow, contact(opt_in_source="csv_import"))
    assert not triggers(flow, contact(opt_in_source="web_chat", phone=None))
    assert not triggers(
        flow, contact(opt_in_source="web_chat", last_message_sent_at="2025-01-01T00:00:00Z")
    )
    assert not triggers(flow, contact("sms-opted-out", opt_in_source="web_chat"))


# --- reviews request ------------------------------------------------------------------


def test_reviews_request_targets_delivered_customers_once():
    flow = template("reviews_request")
    assert flow.re_entry == ReEntry.NEVER
    assert triggers(flow, contact("customer", "order-delivered"))
    assert triggers(flow, contact("customer", "service-completed"))
    assert not triggers(flow, contact("customer"))
    assert not triggers(flow, contact("order-delivered"))
    assert not triggers(flow, contact("customer", "order-delivered", "review-left"))


def test_reviews_request_branches_on_the_reply_and_reminds_once():
    flow = template("reviews_request")
    ask = flow.steps[0]
    assert isinstance(ask, msg.SendSms) and "https://" in ask.text
    assert ask.when is not None and ask.when.delay == timedelta(days=2)
    waits = of_kind(flow, fc.WaitForEvent)
    assert len(waits) == 2
    first, second = waits
    assert chain(flow, flow.following(ask))[0] is first
    branch = flow.step(first.on_event)
    assert second.on_event == branch.id
    assert isinstance(branch, fc.Branch) and isinstance(branch.condition, p.ReplyContains)
    assert "done" in branch.condition.keywords
    reward = [type(s) for s in chain(flow, branch.then)]
    assert reward[:2] == [msg.SendSms, cc.AddTag] and reward[-1] is fc.Exit
    assert flow.step(flow.following(flow.step(branch.then))).tag == "review-left"
    assert [type(s) for s in chain(flow, branch.otherwise)] == [msg.NotifyTeam, fc.Exit]
    # No reply: exactly one reminder, then the second wait, whose timeout ends the journey.
    assert [type(s) for s in chain(flow, first.on_timeout)] == [msg.SendSms, fc.WaitForEvent]
    assert chain(flow, first.on_timeout)[-1] is second
    assert [type(s) for s in chain(flow, second.on_timeout)] == [fc.Exit]


# --- NPS survey -----------------------------------------------------------------------


def _nps_score_branch(flow: Flow) -> fc.MultiBranch:
    (branch,) = of_kind(flow, fc.MultiBranch)
    return branch


def test_nps_branches_three_ways_on_reply_keywords():
    flow = template("nps_survey")
    branch = _nps_score_branch(flow)
    assert len(branch.paths) == 3
    assert all(isinstance(path.condition, p.ReplyContains) for path in branch.paths)
    assert [path.condition.keywords for path in branch.paths] == [
        ["9", "10"],
        ["7", "8"],
        ["0", "1", "2", "3", "4", "5", "6"],
    ]
    assert all(path.condition.match == "any" for path in branch.paths)
    assert branch.otherwise is not None


def _segment(branch: fc.MultiBranch, reply: str) -> str | None:
    """First matching path, reading reply_contains as 'any keyword occurs in the text'."""
    for path in branch.paths:
        if any(k.lower() in reply.lower() for k in path.condition.keywords):
            return path.goto
    return None


def test_nps_path_order_puts_every_score_in_its_segment():
    branch = _nps_score_branch(template("nps_survey"))
    promoter, passive, detractor = (path.goto for path in branch.paths)
    expected = {
        **{str(n): detractor for n in range(7)},
        "7": passive,
        "8": passive,
        "9": promoter,
        "10": promoter,
        " 10 ": promoter,
        "I'd say 6": detractor,
    }
    assert {reply: _segment(branch, reply) for reply in expected} == expected
    assert _segment(branch, "who is this?") is None


def test_nps_segments_are_tagged_and_followed_up():
    flow = template("nps_survey")
    promoter, passive, detractor = (
        chain(flow, path.goto) for path in _nps_score_branch(flow).paths
    )

    def tags_added(steps):
        return [tag for s in steps if isinstance(s, cc.ChangeTags) for tag in s.add]

    assert tags_added(promoter) == ["nps-promoter"]
    assert any(isinstance(s, msg.SendSms) and "review" in s.text for s in promoter)
    assert tags_added(passive) == ["nps-passive"]
    assert any(isinstance(s, msg.SendSms) and "thank" in s.text.lower() for s in passive)
    assert tags_added(detractor) == ["nps-detractor"]
    assert any(isinstance(s, msg.NotifyTeam) for s in detractor)
    tasks = [s for s in detractor if isinstance(s, cc.CreateActivity)]
    assert tasks and tasks[0].assignee == "contact_owner" and tasks[0].due_in is not None
    for steps in (promoter, passive, detractor):
        assert isinstance(steps[-1], fc.Exit)


def test_nps_asks_once_reminds_once_then_exits():
    flow = template("nps_survey")
    assert isinstance(flow.steps[0], cc.RemoveTag) and flow.steps[0].tag == "nps-due"
    assert flow.re_entry == ReEntry.AFTER_EXIT and flow.enrollment.existing_contacts is True
    opening = chain(flow, flow.steps[0].id)
    assert [type(s) for s in opening] == [cc.RemoveTag, msg.SendSms, fc.WaitForEvent]
    first = opening[-1]
    branch = _nps_score_branch(flow)
    assert first.on_event == branch.id
    reminder = chain(flow, first.on_timeout)
    assert [type(s) for s in reminder] == [msg.SendSms, fc.WaitForEvent]
    second = reminder[-1]
    assert second.on_event == branch.id
    give_up = chain(flow, second.on_timeout)
    assert isinstance(give_up[-1], fc.Exit)
    assert not any(isinstance(s, msg.SendSms) for s in give_up)


def test_nps_surveys_due_customers_only():
    flow = template("nps_survey")
    assert triggers(flow, contact("customer", "nps-due"))
    assert not triggers(flow, contact("customer"))
    assert not triggers(flow, contact("customer", "nps-due", "do-not-survey"))
    assert not triggers(flow, contact("customer", "nps-due", phone=None))


# --- nurture campaign -----------------------------------------------------------------


def _interest_branch(flow: Flow) -> fc.Branch:
    (branch,) = [s for s in of_kind(flow, fc.Branch) if s.id == "interested"]
    return branch


def test_nurture_reads_yes_or_interested_but_not_a_refusal():
    flow = template("nurture_campaign")
    branch = _interest_branch(flow)
    wanted = [
        leaf for leaf in positive_leaves(branch.condition) if isinstance(leaf, p.ReplyContains)
    ]
    assert wanted and {"yes", "interested"} <= set(wanted[0].keywords)
    refused = [
        leaf for leaf in negated_leaves(branch.condition) if isinstance(leaf, p.ReplyContains)
    ]
    assert refused and "not interested" in refused[0].keywords
    (wait,) = [s for s in of_kind(flow, fc.WaitForEvent) if s.id == "wait-reply"]
    opt_out = flow.step(wait.on_event)
    assert isinstance(opt_out, fc.Branch) and opt_out.otherwise == branch.id


def test_nurture_hands_interested_leads_to_the_contact_owner():
    flow = template("nurture_campaign")
    steps = chain(flow, _interest_branch(flow).then)
    tagged = [s for s in steps if isinstance(s, cc.ChangeTags)]
    assert tagged and "demo-interested" in tagged[0].add
    tasks = [s for s in steps if isinstance(s, cc.CreateActivity)]
    assert tasks and tasks[0].assignee == "contact_owner" and tasks[0].activity == "task"
    assert any(isinstance(s, msg.NotifyTeam) for s in steps)
    assert any(isinstance(s, fc.Wait) for s in steps), "the journey must stay open for the goal"


def test_nurture_follows_up_after_a_delay_when_there_is_no_yes():
    flow = template("nurture_campaign")
    (wait,) = [s for s in of_kind(flow, fc.WaitForEvent) if s.id == "wait-reply"]
    for start in (wait.on_timeout, _interest_branch(flow).otherwise):
        steps = chain(flow, start)
        assert isinstance(steps[0], fc.Wait) and steps[0].delay >= timedelta(days=1)
        assert isinstance(steps[1], msg.SendSms)
        assert isinstance(steps[-1], fc.WaitForEvent)
    # The follow-up is sent once: its reply is read by a branch that does not loop back.
    last = chain(flow, wait.on_timeout)[-1]
    second = flow.step(last.on_event)
    assert isinstance(second, fc.Branch) and second.condition == _interest_branch(flow).condition
    assert second.then == _interest_branch(flow).then
    assert isinstance(chain(flow, second.otherwise)[-1], fc.Exit)


def test_nurture_goal_is_booking_a_demo():
    flow = template("nurture_campaign")
    (goal,) = of_kind(flow, fc.Goal)
    assert goal.goal == p.HasTag(tag="demo-booked")
    assert goal.exit_on_reach is True
    assert triggers(flow, contact(lead_source="webinar"))
    assert not triggers(flow, contact("demo-booked", lead_source="webinar"))
    assert not triggers(flow, contact(lead_source="partner"))


# --- mailing chain --------------------------------------------------------------------


def test_mailing_chain_is_email_then_sms_to_the_unsubscribed_then_email_to_everyone():
    flow = template("mailing_chain")
    sends = [
        s for s in chain(flow, flow.steps[0].id) if isinstance(s, (msg.SendEmail, msg.SendSms))
    ]
    assert [type(s) for s in sends] == [msg.SendEmail, msg.SendSms, msg.SendEmail]
    first, second, third = sends
    assert first.when is None and first.audience is None  # "send now", the main step

    assert second.audience is not None and second.audience.who == "matching"
    assert p.Unsubscribed(channel="email") in positive_leaves(second.audience.terms)
    assert p.Unsubscribed(channel="sms") in negated_leaves(second.audience.terms)
    assert second.when is not None and second.when.delay is not None

    assert third.audience is not None and third.audience.who == "everyone"
    assert third.when is not None and third.when.delay is not None
    assert third.run_if == Not(condition=p.Unsubscribed(channel="email"))
    assert third.on_false == "skip"


def test_mailing_chain_goes_to_the_existing_segment_and_stops_at_a_purchase():
    flow = template("mailing_chain")
    assert flow.enrollment.existing_contacts is True
    assert flow.re_entry == ReEntry.NEVER
    (goal,) = of_kind(flow, fc.Goal)
    assert goal.exit_on_reach is True
    assert triggers(flow, contact("newsletter", "customer"))
    assert triggers(flow, contact("newsletter", lead_score=70))
    assert not triggers(flow, contact("newsletter", lead_score=10))
    assert not triggers(flow, contact("newsletter", "customer", "spring-sale-buyer"))
    assert not triggers(flow, contact("newsletter", "customer", email=None))
