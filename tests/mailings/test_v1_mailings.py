"""Mailings through the real app and worker: saved over /v1, previewed, sent by
MailingWorkflow on the time-skipping server into the outbox, followed by a chain whose
later steps read opens and opt-outs that came in through the same ingest path as any
event, and counted per step. Workflow tests take a time-skipping server of their own:
a mailing's long timers must not drive the clock other tests share."""

import asyncio
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError

from domain.mailing_runs import MailingProgress
from projections.event_store import ingest
from projections.mailing_schema import mailing_recipients
from projections.schema import events, message_ledger, outbox_messages
from tests.api.v1_harness import async_client, ok, sync_client
from tests.journey_harness import contact, event, journey_worker

R = mailing_recipients.c


def chain(mailing_id: str = "spring", second: str = "by-sms", *more: dict) -> dict:
    """The main step to the VIP segment; then, a day later, an SMS to those who
    unsubscribed from email (the seed's example), or an email to those who opened."""
    steps = {
        "by-sms": {
            "id": "by-sms",
            "channel": "sms",
            "when": {"delay": "1d"},
            "to": "terms",
            "terms": ["unsubscribed_email"],
            "text": "Sale ends soon, {{ first_name }}",
        },
        "opened-it": {
            "id": "opened-it",
            "channel": "email",
            "when": {"delay": "1d"},
            "to": "terms",
            "terms": ["opened"],
            "subject": "Since you looked",
            "body": "Here is more.",
            "conversion": {"event": "product.purchased", "within": "7d"},
        },
    }
    return {
        "id": mailing_id,
        "name": "Spring sale",
        "audience": {"condition": {"kind": "has_tag", "tag": "vip"}},
        "steps": [
            {
                "id": "main",
                "channel": "email",
                "subject": "Hello {{ first_name }}",
                "body": "Spring sale for {{ first_name }}.",
                "conversion": {"event": "product.purchased", "within": "7d"},
            },
            steps[second],
            *more,
        ],
    }


def people(engine) -> None:
    ingest(
        engine,
        [
            *contact("m-1", email="m1@example.com", tags=("vip",), first_name="Ann"),
            *contact(
                "m-2", email="m2@example.com", phone="+14155550102", tags=("vip",), first_name="Bo"
            ),
            *contact("m-3", phone="+14155550103", tags=("vip",), first_name="Cy"),
            *contact("m-4", email="m4@example.com", first_name="Di"),  # not in the segment
            *contact(
                "m-5", email="m5@example.com", phone="+14155550105", tags=("vip",), first_name="Ed"
            ),
            event("m-5", "contact.unsubscribed", {"channel": "email"}),
        ],
    )


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def until_async(read, predicate, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate(value := await read()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {value}"
        await asyncio.sleep(0.05)
    return value


def statuses(engine, mailing_id: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    with engine.connect() as conn:
        return {
            (r.step_id, r.contact_id): (r.status, r.reason)
            for r in conn.execute(
                select(R.step_id, R.contact_id, R.status, R.reason).where(
                    R.mailing_id == mailing_id
                )
            )
        }


async def test_chains_reach_the_segment_then_the_opted_out_by_sms_or_those_who_opened(
    own_time_skipping_env, engine, settings
):
    env = own_time_skipping_env
    people(engine)
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        saved = ok(await api.post("/v1/mailings", json=chain()), 201)
        assert (saved["status"], saved["outcome"]) == ("draft", "created")
        final = {
            "id": "final",
            "channel": "email",
            "when": {"delay": "1d"},
            "subject": "Bye",
            "body": "Last one.",
            "conversion": {"event": "product.purchased", "within": "7d"},
        }
        ok(await api.post("/v1/mailings", json=chain("opens", "opened-it", final)), 201)
        preview = ok(await api.get("/v1/mailings/spring/preview"))
        assert (preview["count"], [c["contact_id"] for c in preview["contacts"]]) == (
            4,
            ["m-1", "m-2", "m-3", "m-5"],
        )
        for mailing_id in ("spring", "opens"):
            assert ok(await api.post(f"/v1/mailings/{mailing_id}/send"))["status"] == "sending"
        # Time stands still until the test awaits the results: the main steps go out
        # now, and the chains wait their day while the contacts react.
        for mailing_id in ("spring", "opens"):
            await until(
                lambda m=mailing_id: statuses(engine, m).get(("main", "m-2"), ("",))[0] == "sent"
            )
        ingest(
            engine,
            [
                event("m-1", "email.opened", {"message_key": "mailing/opens/main/m-1"}),
                event("m-2", "contact.unsubscribed", {"channel": "email"}),
                event("m-1", "product.purchased", {"product": "hat", "amount": 10}),
            ],
            dispatch=True,
        )
        results = {}
        async with env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext():
            for mailing_id in ("spring", "opens"):
                results[mailing_id] = await env.client.get_workflow_handle(
                    f"mailing/{mailing_id}", result_type=MailingProgress
                ).result()
        spring = ok(await api.get("/v1/mailings/spring"))
        # A second purchase, after the last step: it counts for that step alone.
        ingest(engine, [event("m-1", "product.purchased", {"product": "hat", "amount": 10})])
        opens = ok(await api.get("/v1/mailings/opens"))
        again = await api.post("/v1/mailings/spring/send")
    main = {
        ("main", "m-1"): ("sent", None),
        ("main", "m-2"): ("sent", None),
        ("main", "m-3"): ("skipped", "no_address"),
        ("main", "m-5"): ("skipped", "unsubscribed"),
    }
    assert statuses(engine, "spring") == {
        **main,
        ("by-sms", "m-2"): ("sent", None),
        ("by-sms", "m-5"): ("sent", None),
    }
    assert statuses(engine, "opens") == {
        **main,
        ("opened-it", "m-1"): ("sent", None),
        ("final", "m-1"): ("sent", None),
    }
    assert results["spring"].totals["main"].sent == 2
    assert results["spring"].totals["main"].skipped == {"no_address": 1, "unsubscribed": 1}
    with engine.connect() as conn:
        outbox = conn.execute(
            select(
                outbox_messages.c.contact_id,
                outbox_messages.c.channel,
                outbox_messages.c.subject,
                outbox_messages.c.body,
            )
            .where(outbox_messages.c.idempotency_key.startswith("mailing/spring/"))
            .order_by(outbox_messages.c.id)
        ).all()
    assert [tuple(row) for row in outbox] == [
        ("m-1", "email", "Hello Ann", "Spring sale for Ann."),
        ("m-2", "email", "Hello Bo", "Spring sale for Bo."),
        ("m-2", "sms", None, "Sale ends soon, Bo"),
        ("m-5", "sms", None, "Sale ends soon, Ed"),
    ]
    assert spring["status"] == opens["status"] == "sent"
    counts = {step["step_id"]: step for step in spring["steps"] + opens["steps"]}
    assert (
        counts["main"]["audience"],
        counts["main"]["sent"],
        counts["main"]["opened"],
        counts["main"]["skipped"]["no_address"],
    ) == (4, 2, 1, 1)
    assert counts["by-sms"]["sent"] == 2
    # m-1 bought after the main step and before the second one reached them.
    assert (
        counts["main"]["converted"],
        counts["opened-it"]["converted"],
        counts["final"]["converted"],
    ) == (1, 0, 1)
    assert (counts["opened-it"]["audience"], counts["opened-it"]["sent"]) == (1, 1)
    assert again.status_code == 409


async def test_local_times_send_each_recipient_at_nine_in_their_own_zone(
    own_time_skipping_env, engine, settings
):
    env = own_time_skipping_env
    ingest(
        engine,
        [
            *contact("z-ny", email="ny@example.com", time_zone="America/New_York"),
            *contact("z-tk", email="tk@example.com", time_zone="Asia/Tokyo"),
            *contact("z-uk", email="uk@example.com", phone="+447911123456"),
            *contact("z-msk", email="msk@example.com", phone="+74951234567"),
            # A Russian mobile spans eleven zones: the system default decides.
            *contact("z-ru", email="ru@example.com", phone="+79161234567"),
        ],
    )
    settings = settings.model_copy(update={"default_time_zone": "Asia/Yekaterinburg"})
    # The shared time-skipping server's clock runs ahead of the wall clock.
    day = (await env.get_current_time() + timedelta(days=3)).date()
    document = {
        "id": "local",
        "steps": [
            {
                "id": "main",
                "channel": "email",
                "subject": "Morning",
                "body": "Good morning.",
                "when": {"local_at": f"{day}T09:00:00"},
            }
        ],
    }
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.post("/v1/mailings", json=document), 201)
        assert ok(await api.post("/v1/mailings/local/send"))["status"] == "scheduled"
        handle = env.client.get_workflow_handle("mailing/local", result_type=MailingProgress)
        async with env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext():
            progress = await handle.result()
    with engine.connect() as conn:
        due = dict(
            conn.execute(select(R.contact_id, R.due_at).where(R.mailing_id == "local")).all()
        )
    from zoneinfo import ZoneInfo

    nine = datetime.fromisoformat(f"{day}T09:00:00")
    assert due == {
        "z-ny": nine.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC),
        "z-tk": nine.replace(tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC),
        "z-uk": nine.replace(tzinfo=ZoneInfo("Europe/London")).astimezone(UTC),
        "z-msk": nine.replace(tzinfo=ZoneInfo("Europe/Moscow")).astimezone(UTC),
        "z-ru": nine.replace(tzinfo=ZoneInfo("Asia/Yekaterinburg")).astimezone(UTC),
    }
    assert progress.totals["main"].sent == 5


async def test_pause_resume_and_cancel_before_the_time_send_nothing(
    own_time_skipping_env, engine, settings
):
    env = own_time_skipping_env
    people(engine)
    at = (await env.get_current_time() + timedelta(days=2)).isoformat()
    document = {
        "id": "later",
        "steps": [
            {"id": "main", "channel": "email", "subject": "Hi", "body": "Hi.", "when": {"at": at}}
        ],
    }
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
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
    bad["steps"].append(
        {
            "id": "fourth",
            "channel": "email",
            "subject": "S",
            "body": "B",
            "to": "terms",
            "terms": ["clicked"],
        }
    )
    bad["steps"].append(
        {"id": "fifth", "channel": "email", "subject": "S", "body": "B", "when": {}}
    )
    bad["steps"].append(
        {
            "id": "sixth",
            "channel": "email",
            "subject": "S",
            "body": "B",
            "when": {"local_at": "0001-01-01T09:00:00"},
        }
    )
    refused = client.post("/v1/mailings", json=bad)
    assert refused.status_code == 422
    problems = {p["loc"]: p["msg"] for p in refused.json()["detail"]}
    assert set(problems) == {
        "steps.0.subject",
        "steps.1.terms",
        "steps.2.text",
        "steps.3.terms",
        "steps.4.when",
        "steps.5.when.local_at",
    }, problems
    assert problems["steps.4.when"] == "give one of delay, at, local_at"
    assert problems["steps.1.terms"] == "opened and not_opened cannot both hold"
    assert "'third' sends sms" in problems["steps.3.terms"]
    shape = client.post("/v1/mailings", json={"id": "Bad Id", "name": "n" * 201, "steps": []})
    assert shape.status_code == 422
    assert {p["loc"] for p in shape.json()["detail"]} == {"id", "name", "steps"}
    assert client.get("/v1/mailings/bad").status_code == 404
    checked = client.post("/v1/mailings/validate", json=bad).json()
    assert checked["valid"] is False
    good = client.post("/v1/mailings/validate", json=chain()).json()
    assert good["valid"] is True
    assert [(m["step_id"], m["segments"], m["encoding"]) for m in good["sms"]] == [
        ("by-sms", 1, "GSM-7")
    ]
    # Nothing was kept of the refused documents.
    assert client.get("/v1/mailings").json() == {"mailings": []}


def test_a_batch_that_died_after_the_provider_took_it_and_a_repeated_one_send_once(
    engine, monkeypatch
):
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from domain.mailing import Mailing
    from domain.scheduling.zones import Zones
    from projections import mailings as catalogue
    from projections.mailing_audience import select_page

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
    # The first attempt dies after the outbox took the messages, before they were
    # recorded: their ledger keys are left pending.
    record = MailingDelivery._record

    def crash_after_sending(self, mailing, step, batch, messages):
        if messages and batch.provider_ids:
            raise RuntimeError("worker killed")
        return record(self, mailing, step, batch, messages)

    monkeypatch.setattr(MailingDelivery, "_record", crash_after_sending)
    with pytest.raises(RuntimeError):
        delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-2", "m-3", "m-5"])
    monkeypatch.setattr(MailingDelivery, "_record", record)
    everyone = ["m-1", "m-2", "m-3", "m-5"]
    first = delivery.deliver(mailing, mailing.steps[0], everyone)
    second = delivery.deliver(mailing, mailing.steps[0], everyone)
    with engine.connect() as conn:
        outboxed = conn.execute(select(outbox_messages.c.idempotency_key)).scalars().all()
        keys = dict(
            conn.execute(select(message_ledger.c.idempotency_key, message_ledger.c.status)).all()
        )
        sent_events = conn.execute(
            select(func.count()).select_from(events).where(events.c.type == "message.sent")
        ).scalar_one()
    assert (first.sent, first.skipped) == (2, {"no_address": 1, "unsubscribed": 1})
    assert (second.sent, second.duplicates) == (2, 2)
    with engine.connect() as conn:
        uncertain = conn.execute(select(func.sum(message_ledger.c.uncertain_retries))).scalar()
    assert uncertain == 0  # the outbox knew what the dead attempt had sent
    assert sorted(outboxed) == ["mailing/twice/main/m-1", "mailing/twice/main/m-2"]
    assert keys == {"mailing/twice/main/m-1": "sent", "mailing/twice/main/m-2": "sent"}
    assert sent_events == 2


def test_a_transactional_mailing_ignores_email_opt_outs_but_not_bounces(engine, settings):
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from domain.mailing import Mailing

    people(engine)
    ingest(engine, [event("m-1", "email.bounced", {"email": "m1@example.com"})])
    document = {
        "id": "receipt",
        "transactional": True,
        "steps": [{"id": "main", "channel": "email", "subject": "Your receipt", "body": "Thanks."}],
    }
    mailing = Mailing.model_validate(document)
    delivery = MailingDelivery(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "news@example.com"
    )
    result = delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-5"])
    marketing = delivery.deliver(
        Mailing.model_validate({**document, "id": "promo", "transactional": False}),
        mailing.steps[0],
        ["m-5"],
    )
    assert (result.sent, result.skipped) == (1, {"suppressed": 1})  # m-5 opted out, m-1 bounced
    assert (marketing.sent, marketing.skipped) == (0, {"unsubscribed": 1})


def test_the_frequency_cap_counts_journey_messages_and_spares_transactional_mailings(engine):
    from activities.compose import MessagingOptions
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from domain.frequency import FrequencyCap
    from domain.mailing import Mailing

    people(engine)
    # m-1 got one email from a journey yesterday.
    ingest(
        engine,
        [
            event(
                "m-1",
                "message.sent",
                {
                    "channel": "email",
                    "message_key": "journey/welcome/m-1/e1/hello/1",
                    "flow_id": "welcome",
                    "to": "m1@example.com",
                },
                occurred_at=datetime.now(UTC) - timedelta(days=1),
            )
        ],
    )
    caps = {"email": FrequencyCap(messages=1, within=timedelta(days=7))}
    delivery = MailingDelivery(
        engine,
        Outbox(engine, "email"),
        Outbox(engine, "sms"),
        "news@example.com",
        MessagingOptions(frequency_caps=caps),
    )
    document = {
        "id": "capped",
        "steps": [{"id": "main", "channel": "email", "subject": "News", "body": "News."}],
    }
    promo = Mailing.model_validate(document)
    receipt = Mailing.model_validate({**document, "id": "receipt", "transactional": True})
    capped = delivery.deliver(promo, promo.steps[0], ["m-1", "m-2"])
    spared = delivery.deliver(receipt, receipt.steps[0], ["m-1"])
    assert (capped.sent, capped.skipped) == (1, {"frequency_cap": 1})
    assert spared.sent == 1


async def test_a_pause_or_cancel_that_reached_only_the_catalogue_is_obeyed(
    own_time_skipping_env, engine, settings
):
    """No Temporal client in the API process, or the workflow not started yet: the
    signal is lost, the catalogue's status is not."""
    from domain.mailing import Mailing
    from domain.mailing_runs import MailingPlan, MailingRunInput
    from projections import mailings as catalogue
    from routing import mailings as lifecycle

    env = own_time_skipping_env
    people(engine)
    at = (await env.get_current_time() + timedelta(days=1)).isoformat()
    documents = {
        name: {
            "id": name,
            "steps": [
                {
                    "id": "main",
                    "channel": "email",
                    "subject": "Hi",
                    "body": "Hi.",
                    "when": {"at": at},
                }
            ],
        }
        for name in ("held", "gone")
    }
    async with journey_worker(env.client, engine, settings):
        for _name, document in documents.items():
            with engine.begin() as conn:
                catalogue.save(conn, Mailing.model_validate(document), document)
        await lifecycle.send(env.client, engine, "held", task_queue=settings.task_queue)
        assert await lifecycle.pause(None, engine, "held") == "paused"
        # "gone" is cancelled between send's commit and its workflow's start.
        with engine.begin() as conn:
            catalogue.transition(conn, "gone", "schedule")
        assert await lifecycle.cancel(None, engine, "gone") == "cancelled"
        await env.client.start_workflow(
            "MailingWorkflow",
            MailingRunInput(plan=MailingPlan.of(Mailing.model_validate(documents["gone"]))),
            id="mailing/gone",
            task_queue=settings.task_queue,
        )
        async with env.time_skipping_unlocked():  # to "gone"'s time, which is "held"'s
            gone = await env.client.get_workflow_handle(
                "mailing/gone", result_type=MailingProgress
            ).result()
        held = env.client.get_workflow_handle("mailing/held", result_type=MailingProgress)
        # Its time came: it read the catalogue's "paused" and holds.
        await until_async(
            lambda: held.query("progress", result_type=MailingProgress), lambda p: p.paused
        )
        with engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(outbox_messages)).scalar_one()
        assert await lifecycle.resume(env.client, engine, "held") == "scheduled"
        async with env.time_skipping_unlocked():
            done = await held.result()
    assert (gone.phase, gone.totals["main"].selected, gone.totals["main"].sent) == ("wait", 0, 0)
    assert before == 0
    assert done.totals["main"].sent == 3  # m-1, m-2, m-4 (m-3 has no email, m-5 opted out)
    with engine.connect() as conn:
        assert catalogue.status_of(conn, "held") == "sent"
        assert catalogue.status_of(conn, "gone") == "cancelled"


def sendgrid_delivery(engine, fake):
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from activities.sendgrid_email import SendGridEmail

    return MailingDelivery(
        engine, SendGridEmail("SG.key", fake.url), Outbox(engine, "sms"), "news@example.com"
    )


def test_sendgrid_gets_one_request_with_a_personalization_per_recipient(engine):
    from domain.mailing import Mailing
    from tests.fakes.provider_http import FakeProvider, Reply

    people(engine)
    mailing = Mailing.model_validate(
        {
            "id": "sg",
            "steps": [
                {
                    "id": "main",
                    "channel": "email",
                    "subject": "Hi {{ first_name }}",
                    "body": "Sale.",
                }
            ],
        }
    )
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-batch"})) as sendgrid:
        result = sendgrid_delivery(engine, sendgrid).deliver(
            mailing, mailing.steps[0], ["m-1", "m-2", "m-4"]
        )
    [request] = sendgrid.requests
    body = request.json()
    assert body["content"] == [{"type": "text/plain", "value": "Sale."}]
    assert [
        (p["to"][0]["email"], p["subject"], p["custom_args"]["idempotency_key"])
        for p in body["personalizations"]
    ] == [
        ("m1@example.com", "Hi Ann", "mailing/sg/main/m-1"),
        ("m2@example.com", "Hi Bo", "mailing/sg/main/m-2"),
        ("m4@example.com", "Hi Di", "mailing/sg/main/m-4"),
    ]
    assert result.sent == 3
    with engine.connect() as conn:
        ids = set(conn.execute(select(message_ledger.c.provider_message_id)).scalars())
    assert ids == {"sg-batch"}


def test_sendgrid_sends_are_recorded_as_they_go_and_a_retry_sends_only_the_rest(engine):
    """Bodies that differ per recipient go in a request each: what the provider took is
    recorded before the 503 leaves the batch, so the retry sends only the others."""
    from domain.mailing import Mailing
    from tests.fakes.provider_http import FakeProvider, Reply

    people(engine)
    mailing = Mailing.model_validate(
        {
            "id": "sg",
            "steps": [
                {"id": "main", "channel": "email", "subject": "Hi", "body": "Hi {{ first_name }}."}
            ],
        }
    )
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-ok"})) as sendgrid:
        sendgrid.queue(
            Reply(202, "", {"X-Message-Id": "sg-1"}), Reply(503, "busy", {"Retry-After": "7"})
        )
        delivery = sendgrid_delivery(engine, sendgrid)
        with pytest.raises(ApplicationError) as refused:
            delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-2", "m-4"])
        retried = delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-2", "m-4"])
        to = [
            [p["to"][0]["email"] for p in request.json()["personalizations"]]
            for request in sendgrid.requests
        ]
    assert refused.value.next_retry_delay == timedelta(seconds=7)
    assert to == [["m1@example.com"], ["m2@example.com"], ["m2@example.com"], ["m4@example.com"]]
    assert (retried.sent, retried.duplicates) == (3, 1)
    with engine.connect() as conn:
        uncertain = conn.execute(select(func.sum(message_ledger.c.uncertain_retries))).scalar()
    assert uncertain == 0  # the 503 said nothing went out: a plain retry


def test_the_shared_pace_keeps_a_rate_limited_sendgrid_from_ever_refusing(engine):
    """The fake answers 429 beyond 10 requests in any second; the pace allows 8 messages a
    second, reserved in the database as every worker would."""
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from activities.pace import Pace
    from activities.sendgrid_email import SendGridEmail
    from domain.mailing import Mailing
    from tests.fakes.provider_http import RateLimitedProvider, Reply

    ingest(
        engine,
        [
            e
            for i in range(14)
            for e in contact(f"p-{i:02d}", email=f"p{i}@example.com", first_name=f"P{i}")
        ],
    )
    mailing = Mailing.model_validate(
        {
            "id": "paced",
            "steps": [
                {"id": "main", "channel": "email", "subject": "Hi", "body": "Hi {{ first_name }}."}
            ],
        }
    )
    with RateLimitedProvider(Reply(202, "", {"X-Message-Id": "sg"}), per_second=10) as sendgrid:
        delivery = MailingDelivery(
            engine,
            SendGridEmail("SG.key", sendgrid.url),
            Outbox(engine, "sms"),
            "news@example.com",
            pace=Pace(engine, {"sendgrid": 8}),
        )
        result = delivery.deliver(mailing, mailing.steps[0], [f"p-{i:02d}" for i in range(14)])
    assert (result.sent, sendgrid.throttled, len(sendgrid.requests)) == (14, 0, 14)


def test_a_providers_retry_after_holds_every_sender(engine):
    from activities.pace import Pace
    from projections.mailing_schema import provider_pace

    pace = Pace(engine, {"twilio": 5})
    before = datetime.now(UTC)
    pace.back_off("twilio", 30)
    pace.back_off("twilio", 5)  # a shorter pause never shortens a longer one
    with engine.connect() as conn:
        held_until = conn.execute(select(provider_pace.c.next_free_at)).scalar_one()
    assert held_until >= before + timedelta(seconds=30)


def test_an_sms_step_goes_through_twilio_one_request_per_message(engine):
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from activities.twilio_sms import TwilioSms
    from domain.mailing import Mailing
    from tests.fakes.provider_http import FakeProvider, Reply, twilio_message

    people(engine)
    ingest(engine, [event("m-2", "contact.unsubscribed", {"channel": "sms"})])  # replied STOP
    mailing = Mailing.model_validate(
        {
            "id": "texts",
            "steps": [{"id": "main", "channel": "sms", "text": "Sale, {{ first_name }}!"}],
        }
    )
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        sms = TwilioSms("AC" + "4" * 32, "secret", "+14155550100", None, base_url=twilio.url)
        delivery = MailingDelivery(engine, Outbox(engine, "email"), sms, "news@example.com")
        result = delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-2", "m-3", "m-5"])
        sent_to = sorted(request.form()["To"][0] for request in twilio.requests)
    assert sent_to == ["+14155550103", "+14155550105"]
    assert (result.sent, result.skipped) == (2, {"no_address": 1, "unsubscribed": 1})


def test_transactional_messages_do_not_use_up_the_frequency_cap(engine):
    from activities.compose import MessagingOptions
    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from domain.frequency import FrequencyCap
    from domain.mailing import Mailing

    people(engine)
    caps = {"email": FrequencyCap(messages=1, within=timedelta(days=7))}
    delivery = MailingDelivery(
        engine,
        Outbox(engine, "email"),
        Outbox(engine, "sms"),
        "news@example.com",
        MessagingOptions(frequency_caps=caps),
    )
    steps = [{"id": "main", "channel": "email", "subject": "S", "body": "B"}]
    receipt = Mailing.model_validate({"id": "receipt", "transactional": True, "steps": steps})
    promo = Mailing.model_validate({"id": "promo", "steps": steps})
    assert delivery.deliver(receipt, receipt.steps[0], ["m-1"]).sent == 1
    assert delivery.deliver(promo, promo.steps[0], ["m-1"]).sent == 1  # the receipt left it room
    again = Mailing.model_validate({"id": "again", "steps": steps})
    assert delivery.deliver(again, again.steps[0], ["m-1"]).skipped == {"frequency_cap": 1}


def test_a_conversion_window_or_delay_too_long_is_refused_not_a_500(engine, settings):
    client = sync_client(settings, engine)
    document = {
        "id": "long",
        "steps": [
            {
                "id": "main",
                "channel": "email",
                "subject": "S",
                "body": "B",
                "conversion": {"event": "product.purchased", "within": "3000000d"},
            },
            {
                "id": "next",
                "channel": "email",
                "subject": "S",
                "body": "B",
                "when": {"delay": "99999999999999d"},
            },
        ],
    }
    refused = client.post("/v1/mailings", json=document)
    assert refused.status_code == 422, refused.text
    assert [p["loc"] for p in refused.json()["detail"]] == ["steps.1.when.delay"]
    document["steps"].pop()
    refused = client.post("/v1/mailings", json=document)
    assert [p["loc"] for p in refused.json()["detail"]] == ["steps.0.conversion.within"]


def test_a_paced_twilio_batch_heartbeats_from_its_worker_threads(engine):
    from temporalio import activity
    from temporalio.testing import ActivityEnvironment

    from activities.mailing_delivery import MailingDelivery
    from activities.outbox import Outbox
    from activities.pace import Pace
    from activities.twilio_sms import TwilioSms
    from domain.mailing import Mailing
    from tests.fakes.provider_http import FakeProvider, Reply, twilio_message

    ingest(engine, [e for i in range(12) for e in contact(f"t-{i:02d}", phone=f"+1415555{i:04d}")])
    mailing = Mailing.model_validate(
        {"id": "paced-sms", "steps": [{"id": "main", "channel": "sms", "text": "Sale!"}]}
    )
    beats = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        sms = TwilioSms("AC" + "4" * 32, "secret", "+14155550100", None, base_url=twilio.url)
        delivery = MailingDelivery(
            engine,
            Outbox(engine, "email"),
            sms,
            "news@example.com",
            pace=Pace(engine, {"twilio": 40}),
        )
        result = env.run(
            lambda: delivery.deliver(
                mailing,
                mailing.steps[0],
                [f"t-{i:02d}" for i in range(12)],
                heartbeat=activity.heartbeat,
            )
        )
    assert (result.sent, len(twilio.requests)) == (12, 12)
    assert beats  # from the pool's threads while they waited for their slots, and per chunk
