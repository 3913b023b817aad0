"""A flow's audience from real events on the test's database (SQLite, or the PostgreSQL
lane's): the trigger's event type and `where` filters over the whole history, the
trigger's condition as of now, keyset pages and the preview count."""

from projections.audience import audience_page, audience_pages, preview
from projections.event_store import ingest
from tests.journey_harness import contact, event, flow_from

NEWSLETTER = {"path": "form_id", "value": "newsletter"}


def newsletter_flow(**trigger):
    return flow_from(
        {
            "id": "aud",
            "trigger": {"event": "form.submitted", "where": [NEWSLETTER], **trigger},
            "steps": [{"id": "tag", "kind": "add_tag", "tag": "x"}],
        }
    )


def submitted(contact_id: str, form_id: str):
    return event(contact_id, "form.submitted", {"form_id": form_id})


def test_history_filters_and_the_condition_now_decide_membership(engine):
    ingest(
        engine,
        [
            *contact("a1", email="a1@example.com", phone="+15550001", tags=("vip",)),
            submitted("a1", "newsletter"),
            *contact("a2", email="a2@example.com", tags=("vip",)),
            submitted("a2", "contact-us"),
            *contact("a3", email="a3@example.com"),
            submitted("a3", "newsletter"),
            # Any event of its history counts, not only the latest.
            *contact("a4", email="a4@example.com", tags=("vip",)),
            submitted("a4", "newsletter"),
            submitted("a4", "contact-us"),
            *contact("a5", email="a5@example.com", tags=("vip",)),  # never submitted a form
            # Tagged once, untagged since: the condition is judged now.
            *contact("a6", email="a6@example.com", tags=("vip",)),
            submitted("a6", "newsletter"),
            event("a6", "contact.tag_removed", {"tag": "vip"}),
        ],
    )
    vip = newsletter_flow(condition={"kind": "has_tag", "tag": "vip"})
    assert preview(engine, vip).count == 2
    assert preview(engine, vip).contacts == [
        {"contact_id": "a1", "email": "a1@example.com", "phone": "+15550001"},
        {"contact_id": "a4", "email": "a4@example.com", "phone": None},
    ]
    anyone = newsletter_flow()
    assert [c["contact_id"] for c in preview(engine, anyone).contacts] == ["a1", "a3", "a4", "a6"]
    unfiltered = flow_from(
        {"id": "all-forms", "steps": [{"id": "t", "kind": "add_tag", "tag": "x"}]}
    )
    assert preview(engine, unfiltered).count == 5
    no_such_event = flow_from(
        {
            "id": "none",
            "trigger": {"event": "purchase.completed"},
            "steps": [{"id": "t", "kind": "add_tag", "tag": "x"}],
        }
    )
    assert preview(engine, no_such_event).count == 0


def test_any_match_and_nested_payload_paths(engine):
    ingest(
        engine,
        [
            event("m1", "form.submitted", {"form_id": "a", "fields": {"plan": "pro"}}),
            event("m2", "form.submitted", {"form_id": "b", "fields": {"plan": "free"}}),
            event("m3", "form.submitted", {"form_id": "newsletter"}),
        ],
    )
    flow = newsletter_flow(match="any", where=[NEWSLETTER, {"path": "fields.plan", "value": "pro"}])
    assert [c["contact_id"] for c in preview(engine, flow).contacts] == ["m1", "m3"]


def test_pages_cover_the_audience_once_across_page_boundaries(engine):
    ingest(
        engine,
        [submitted(f"p{i:02d}", "newsletter" if i % 3 else "other") for i in range(25)]
        + [event(f"p{i:02d}", "contact.tag_added", {"tag": "vip"}) for i in range(0, 25, 2)],
    )
    flow = newsletter_flow(condition={"kind": "has_tag", "tag": "vip"})
    expected = [f"p{i:02d}" for i in range(25) if i % 3 and i % 2 == 0]
    for size in (1, 4, 5, 7, 25, 100):
        pages = list(audience_pages(engine, flow, size))
        members = [c for page in pages for c in page.contact_ids]
        assert members == expected, size
        assert sum(page.scanned for page in pages) == 25  # every form submitter examined once
        assert all(page.scanned <= size for page in pages)
        assert pages[-1].next_after is None
        assert preview(engine, flow, limit=3, page_size=size).count == len(expected)
    # A page that ends exactly at the last candidate cannot know it; the next one is empty.
    full = audience_page(engine, flow, None, 25)
    assert full.next_after == "p24"
    assert audience_page(engine, flow, full.next_after, 25) == type(full)([], None, 0)


def test_a_page_resumes_after_its_cursor(engine):
    ingest(engine, [submitted(f"r{i}", "newsletter") for i in range(6)])
    flow = newsletter_flow()
    first = audience_page(engine, flow, None, 2)
    assert (first.contact_ids, first.next_after) == (["r0", "r1"], "r1")
    # Contacts ingested meanwhile behind the cursor are not revisited; ahead of it they are.
    ingest(engine, [submitted("r00", "newsletter"), submitted("r9", "newsletter")])
    rest = [
        c for page in audience_pages(engine, flow, 2, first.next_after) for c in page.contact_ids
    ]
    assert rest == ["r2", "r3", "r4", "r5", "r9"]


def test_conditions_reading_attributes_and_lead_events(engine):
    ingest(
        engine,
        [
            *contact("l1", plan="pro"),
            submitted("l1", "newsletter"),
            event("l1", "custom", {"name": "webinar.attended", "properties": {}}),
            *contact("l2", plan="pro"),
            submitted("l2", "newsletter"),
            *contact("l3", plan="free"),
            submitted("l3", "newsletter"),
            event("l3", "custom", {"name": "webinar.attended", "properties": {}}),
        ],
    )
    flow = newsletter_flow(
        condition={
            "kind": "all",
            "conditions": [
                {"kind": "attribute", "field": "plan", "op": "eq", "value": "pro"},
                {"kind": "lead_event", "event": "webinar.attended"},
            ],
        }
    )
    assert [c["contact_id"] for c in preview(engine, flow).contacts] == ["l1"]


def test_preview_limit_bounds_the_list_not_the_count(engine):
    ingest(engine, [submitted(f"n{i}", "newsletter") for i in range(5)])
    assert (
        preview(engine, newsletter_flow(), limit=2).count,
        len(preview(engine, newsletter_flow(), limit=2).contacts),
    ) == (5, 2)
    assert preview(engine, newsletter_flow(), limit=0).contacts == []
