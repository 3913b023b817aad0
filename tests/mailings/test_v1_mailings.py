"""Mailings through the real app and worker: saved over /v1, previewed, sent by
MailingWorkflow on the time-skipping server into the outbox, followed by a chain whose
later steps read opens and opt-outs that came in through the same ingest path as any
event, and counted per step."""

import asyncio
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain.mailing_runs import MailingProgress
from projections.event_store import ingest
from projections.mailing_schema import mailing_recipients
from projections.schema import events, message_ledger, outbox_messages
from tests.api.v1_harness import async_client, ok, sync_client
from tests.journey_harness import contact, event, journey_worker

R = mailing_recipients.c


def chain(mailing_id: str = "spring", second: str = "by-sms") -> dict:
    """The main step to the VIP segment; then, a day later, an SMS to those who
    unsubscribed from email (the seed's example), or an email to those who opened."""
    steps = {
        "by-sms": {"id": "by-sms", "channel": "sms", "when": {"delay": "1d"}, "to": "terms",
                   "terms": ["unsubscribed_email"], "text": "Sale ends soon, {{ first_name }}"},
        "opened-it": {"id": "opened-it", "channel": "email", "when": {"delay": "1d"},
                      "to": "terms", "terms": ["opened"], "subject": "Since you looked",
                      "body": "Here is more.",
                      "conversion": {"event": "product.purchased", "within": "7d"}},
    }
    return {
        "id": mailing_id, "name": "Spring sale",
        "audience": {"condition": {"kind": "has_tag", "tag": "vip"}},
        "steps": [
            {"id": "main", "channel": "email", "subject": "Hello {{ first_name }}",
             "body": "Spring sale for {{ first_name }}.",
             "conversion": {"event": "product.purchased", "within": "7d"}},
            steps[second],
        ],
    }


def people(engine) -> None:
    ingest(engine, [
        *contact("m-1", email="m1@example.com", tags=("vip",), first_name="Ann"),
        *contact("m-2", email="m2@example.com", phone="+14155550102", tags=("vip",),
                 first_name="Bo"),
        *contact("m-3", phone="+14155550103", tags=("vip",), first_name="Cy"),
        *contact("m-4", email="m4@example.com", first_name="Di"),  # not in the segment
        *contact("m-5", email="m5@example.com", phone="+14155550105", tags=("vip",),
                 first_name="Ed"),
        event("m-5", "contact.unsubscribed", {"channel": "email"}),
    ])


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def statuses(engine, mailing_id: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    with engine.connect() as conn:
        return {(r.step_id, r.contact_id): (r.status, r.reason) for r in conn.execute(
            select(R.step_id, R.contact_id, R.status, R.reason).where(R.mailing_id == mailing_id))}


async def test_chains_reach_the_segment_then_the_opted_out_by_sms_or_those_who_opened(
        time_skipping_env, engine, settings):
    env = time_skipping_env
    people(engine)
    async with journey_worker(env.client, engine, settings), \
            async_client(settings, engine, env.client) as api:
        saved = ok(await api.post("/v1/mailings", json=chain()), 201)
        assert (saved["status"], saved["outcome"]) == ("draft", "created")
        ok(await api.post("/v1/mailings", json=chain("opens", "opened-it")), 201)
        preview = ok(await api.get("/v1/mailings/spring/preview"))
        assert (preview["count"], [c["contact_id"] for c in preview["contacts"]]) == (
            4, ["m-1", "m-2", "m-3", "m-5"])
        for mailing_id in ("spring", "opens"):
            assert ok(await api.post(f"/v1/mailings/{mailing_id}/send"))["status"] == "sending"
        # Time stands still until the test awaits the results: the main steps go out
        # now, and the chains wait their day while the contacts react.
        for mailing_id in ("spring", "opens"):
            await until(lambda: statuses(engine, mailing_id).get(("main", "m-2"),
                                                                 ("",))[0] == "sent")
        ingest(engine, [
            event("m-1", "email.opened", {"message_key": "mailing/opens/main/m-1"}),
            event("m-2", "contact.unsubscribed", {"channel": "email"}),
            event("m-1", "product.purchased", {"product": "hat", "amount": 10}),
        ], dispatch=True)
        results = {}
        async with env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext():
            for mailing_id in ("spring", "opens"):
                results[mailing_id] = await env.client.get_workflow_handle(
                    f"mailing/{mailing_id}", result_type=MailingProgress).result()
        spring = ok(await api.get("/v1/mailings/spring"))
        opens = ok(await api.get("/v1/mailings/opens"))
        again = await api.post("/v1/mailings/spring/send")
    main = {("main", "m-1"): ("sent", None), ("main", "m-2"): ("sent", None),
            ("main", "m-3"): ("skipped", "no_address"), ("main", "m-5"): ("skipped", "unsubscribed")}
    assert statuses(engine, "spring") == {**main, ("by-sms", "m-2"): ("sent", None),
                                          ("by-sms", "m-5"): ("sent", None)}
    assert statuses(engine, "opens") == {**main, ("opened-it", "m-1"): ("sent", None)}
    assert results["spring"].totals["main"].sent == 2
    assert results["spring"].totals["main"].skipped == {"no_address": 1, "unsubscribed": 1}
    with engine.connect() as conn:
        outbox = conn.execute(select(outbox_messages.c.contact_id, outbox_messages.c.channel,
                                     outbox_messages.c.subject, outbox_messages.c.body)
                              .where(outbox_messages.c.idempotency_key.startswith("mailing/spring/"))
                              .order_by(outbox_messages.c.id)).all()
    assert [tuple(row) for row in outbox] == [
        ("m-1", "email", "Hello Ann", "Spring sale for Ann."),
        ("m-2", "email", "Hello Bo", "Spring sale for Bo."),
        ("m-2", "sms", None, "Sale ends soon, Bo"), ("m-5", "sms", None, "Sale ends soon, Ed")]
    assert spring["status"] == opens["status"] == "sent"
    counts = {step["step_id"]: step for step in spring["steps"] + opens["steps"]}
    assert (counts["main"]["audience"], counts["main"]["sent"], counts["main"]["opened"],
            counts["main"]["skipped"]["no_address"]) == (4, 2, 1, 1)
    assert counts["by-sms"]["sent"] == 2
    # m-1 bought after the main step and before the second one reached them.
    assert (counts["main"]["converted"], counts["opened-it"]["converted"]) == (1, 0)
    assert (counts["opened-it"]["audience"], counts["opened-it"]["sent"]) == (1, 1)
    assert again.status_code == 409


async def test_local_times_send_each_recipient_at_nine_in_their_own_zone(
        time_skipping_env, engine, settings):
    env = time_skipping_env
    ingest(engine, [*contact("z-ny", email="ny@example.com", time_zone="America/New_York"),
                    *contact("z-tk", email="tk@example.com", time_zone="Asia/Tokyo"),
                    *contact("z-uk", email="uk@example.com", phone="+447911123456")])
    # The shared time-skipping server's clock runs ahead of the wall clock.
    day = (await env.get_current_time() + timedelta(days=3)).date()
    document = {"id": "local", "steps": [{"id": "main", "channel": "email", "subject": "Morning",
                                           "body": "Good morning.",
                                           "when": {"local_at": f"{day}T09:00:00"}}]}
    async with journey_worker(env.client, engine, settings), \
            async_client(settings, engine, env.client) as api:
        ok(await api.post("/v1/mailings", json=document), 201)
        assert ok(await api.post("/v1/mailings/local/send"))["status"] == "scheduled"
        handle = env.client.get_workflow_handle("mailing/local", result_type=MailingProgress)
        async with env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext():
            progress = await handle.result()
    with engine.connect() as conn:
        due = dict(conn.execute(select(R.contact_id, R.due_at).where(R.mailing_id == "local")).all())
    from zoneinfo import ZoneInfo
    nine = datetime.fromisoformat(f"{day}T09:00:00")
    assert due == {"z-ny": nine.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC),
                   "z-tk": nine.replace(tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC),
                   "z-uk": nine.replace(tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)}
    assert progress.totals["main"].sent == 3


async def test_pause_resume_and_cancel_before_the_time_send_nothing(
        time_skipping_env, engine, settings):
    env = time_skipping_env
    people(engine)
    at = (await env.get_current_time() + timedelta(days=2)).isoformat()
    document = {"id": "later", "steps": [{"id": "main", "channel": "email", "subject": "Hi",
                                           "body": "Hi.", "when": {"at": at}}]}
    async with journey_worker(env.client, engine, settings), \
            async_client(settings, engine, env.client) as api:
        ok(await api.post("/v1/mailings", json=document), 201)
        assert ok(await api.post("/v1/mailings/later/send"))["status"] == "scheduled"
        assert ok(await api.post("/v1/mailings/later/pause"))["status"] == "paused"
        assert (await api.post("/v1/mailings/later/pause")).status_code == 409
        assert ok(await api.post("/v1/mailings/later/resume"))["status"] == "scheduled"
        assert ok(await api.post("/v1/mailings/later/cancel"))["status"] == "cancelled"
        handle = env.client.get_workflow_handle("mailing/later", result_type=MailingProgress)
        async with env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext():
            await handle.result()
        edit = await api.post("/v1/mailings", json=document)
        resend = await api.post("/v1/mailings/later/send")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox_messages)).scalar_one() == 0
    assert (edit.status_code, resend.status_code) == (409, 409)
    assert "cancelled" in resend.json()["detail"]


def test_bad_documents_are_refused_naming_each_field(engine, settings):
    people(engine)  # merge tags are checked against the attributes contacts have
    client = sync_client(settings, engine)
    bad = chain("bad", "opened-it")
    bad["steps"][0]["subject"] = ""
    bad["steps"][1]["terms"] = ["opened", "not_opened"]
    bad["steps"].append({"id": "third", "channel": "sms", "text": "{{ ''.__class__ }}"})
    bad["steps"].append({"id": "fourth", "channel": "email", "subject": "S", "body": "B",
                         "to": "terms", "terms": ["clicked"]})
    refused = client.post("/v1/mailings", json=bad)
    assert refused.status_code == 422
    problems = {p["loc"]: p["msg"] for p in refused.json()["detail"]}
    assert set(problems) == {"body.steps.0.subject", "body.steps.1.terms",
                             "body.steps.2.text", "body.steps.3.terms"}, problems
    assert problems["body.steps.1.terms"] == "opened and not_opened cannot both hold"
    assert "'third' sends sms" in problems["body.steps.3.terms"]
    shape = client.post("/v1/mailings", json={"id": "Bad Id", "steps": []})
    assert shape.status_code == 422
    assert {p["loc"] for p in shape.json()["detail"]} == {"body.id", "body.steps"}
    assert client.get("/v1/mailings/bad").status_code == 404
    checked = client.post("/v1/mailings/validate", json=bad).json()
    assert checked["valid"] is False
    # Nothing was kept of the refused documents.
    assert client.get("/v1/mailings").json() == {"mailings": []}


def test_a_batch_sent_twice_goes_out_once(engine, settings):
    from activities import ledger
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from activities.ports import EmailMessage
    from domain.mailing import Mailing
    from projections import mailings as catalogue
    from projections.mailing_audience import Zones, select_page

    people(engine)
    mailing = Mailing.model_validate(chain("twice"))
    with engine.begin() as conn:
        catalogue.save(conn, mailing, chain("twice"))
    now = datetime.now(UTC)
    page = select_page(engine, mailing, mailing.steps[0], None, 100, now, Zones("UTC"))
    again = select_page(engine, mailing, mailing.steps[0], None, 100, now, Zones("UTC"))
    assert (page.selected, again.selected) == (4, 0)
    email = Outbox(engine, "email")
    delivery = MailingDelivery(engine, email, Outbox(engine, "sms"), "news@example.com")
    # An attempt that died after handing m-1's message over, before recording it: the
    # ledger key is claimed (pending) and the outbox has the message.
    ledger.claim_many(engine, [("mailing/twice/main/m-1", "email", "m-1")])
    email.send(EmailMessage(idempotency_key="mailing/twice/main/m-1", contact_id="m-1",
                            to="m1@example.com", from_email="news@example.com",
                            subject="Hello Ann", body="Spring sale for Ann."))
    everyone = ["m-1", "m-2", "m-3", "m-5"]
    first = delivery.deliver(mailing, mailing.steps[0], everyone)
    second = delivery.deliver(mailing, mailing.steps[0], everyone)
    with engine.connect() as conn:
        outboxed = conn.execute(select(outbox_messages.c.idempotency_key)).scalars().all()
        keys = dict(conn.execute(select(message_ledger.c.idempotency_key,
                                        message_ledger.c.status)).all())
        sent_events = conn.execute(select(func.count()).select_from(events)
                                   .where(events.c.type == "message.sent")).scalar_one()
    assert (first.sent, first.skipped) == (2, {"no_address": 1, "unsubscribed": 1})
    assert (second.sent, second.duplicates) == (2, 2)
    assert sorted(outboxed) == ["mailing/twice/main/m-1", "mailing/twice/main/m-2"]
    assert keys == {"mailing/twice/main/m-1": "sent", "mailing/twice/main/m-2": "sent"}
    assert sent_events == 2


def test_a_transactional_mailing_ignores_email_opt_outs_but_not_bounces(engine, settings):
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from domain.mailing import Mailing

    people(engine)
    ingest(engine, [event("m-1", "email.bounced", {"email": "m1@example.com"})])
    document = {"id": "receipt", "transactional": True, "steps": [
        {"id": "main", "channel": "email", "subject": "Your receipt", "body": "Thanks."}]}
    mailing = Mailing.model_validate(document)
    delivery = MailingDelivery(engine, Outbox(engine, "email"), Outbox(engine, "sms"),
                               "news@example.com")
    result = delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-5"])
    marketing = delivery.deliver(Mailing.model_validate({**document, "id": "promo",
                                                         "transactional": False}),
                                 mailing.steps[0], ["m-5"])
    assert (result.sent, result.skipped) == (1, {"suppressed": 1})  # m-5 opted out, m-1 bounced
    assert (marketing.sent, marketing.skipped) == (0, {"unsubscribed": 1})
