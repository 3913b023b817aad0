"""A deterministic, realistic event stream for the benchmark.

Every contact gets its own Random seeded from (seed, contact index), so the stream is
the same whatever the chunking, and a slice of contacts can be generated on its own.
Events of a chunk of contacts are interleaved by occurred_at, as a live system would
record them, while memory stays bounded by the chunk (2M events would not fit nicely)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.events import ContactEvent, EventType

# The benchmark's "now": fixed, so a rerun evaluates exactly the same facts.
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HISTORY = timedelta(days=365)

PLANS = ("free", "free", "free", "pro", "pro", "team", "enterprise")
COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "CA", "AU", "NL", "ES")
AREA_CODES = (212, 206, 303, 310, 415, 512, 617, 646, 718, 917)
TAGS = (
    "vip",
    "newsletter",
    "customer",
    "lead",
    "webinar-2025",
    "beta",
    "churn-risk",
    "partner",
    "trial",
    "event-attendee",
)
FUNNELS = ("webinar", "ebook", "trial", "pricing")
PAGES = ("home", "pricing", "features", "blog", "docs", "signup", "checkout", "thank-you")
FORMS = ("newsletter", "demo-request", "ebook-download", "webinar-signup", "contact-us")
FLOWS = {
    "welcome": ("intro", "tips", "offer"),
    "onboarding": ("day1", "day3", "day7"),
    "winback": ("miss-you", "discount"),
}
PRODUCTS = ("course-basic", "course-pro", "ebook-bundle", "coaching", "templates")
COURSES = ("python-101", "sql-basics", "growth-playbook")
SMS_BODIES = (
    "yes please",
    "STOP",
    "what time is it?",
    "thanks!",
    "call me tomorrow",
    "interested in pro",
    "no",
)
CUSTOM = ("trial_extended", "invoice_paid", "app_installed", "referral_sent")

# Relative frequency of each kind of event after the contact is created. The engagement
# kinds are emitted as a chain (sent, then delivered / opened / clicked).
WEIGHTS: dict[str, int] = {
    EventType.CONTACT_UPDATED: 5,
    EventType.TAG_ADDED: 8,
    EventType.TAG_REMOVED: 2,
    EventType.UNSUBSCRIBED: 1,
    EventType.RESUBSCRIBED: 1,
    EventType.ACTIVE: 10,
    EventType.FORM_SUBMITTED: 6,
    EventType.PAGE_VISITED: 15,
    EventType.MESSAGE_SENT: 20,
    EventType.SMS_RECEIVED: 2,
    EventType.PRODUCT_PURCHASED: 3,
    EventType.PRODUCT_ADDED: 1,
    EventType.PRODUCT_REMOVED: 1,
    EventType.SUBSCRIPTION_STARTED: 2,
    EventType.SUBSCRIPTION_ENDED: 1,
    EventType.COURSE_ACCOUNT_CREATED: 1,
    EventType.COURSE_STARTED: 2,
    EventType.COURSE_STEP_COMPLETED: 4,
    EventType.COURSE_COMPLETED: 1,
    EventType.CUSTOM: 4,
}
_KINDS, _WEIGHTS = list(WEIGHTS), list(WEIGHTS.values())


@dataclass(frozen=True)
class Workload:
    contacts: int
    events_per_contact: int
    seed: int = 42
    prefix: str = "bench"

    def contact_id(self, index: int) -> str:
        return f"{self.prefix}-c{index:07d}"

    def event_count(self, index: int) -> int:
        """About `events_per_contact`, spread so a few heavy contacts exist, as in life."""
        rng = random.Random(f"{self.seed}:{self.prefix}:count:{index}")
        return max(
            1,
            min(
                5 * self.events_per_contact,
                round(rng.lognormvariate(0, 0.5) * self.events_per_contact * 0.9),
            ),
        )

    def total_events(self, start: int = 0, stop: int | None = None) -> int:
        return sum(
            self.event_count(i) for i in range(start, self.contacts if stop is None else stop)
        )

    def contact_events(self, index: int) -> list[ContactEvent]:
        return _ContactHistory(self, index).events()

    def stream(
        self, start: int = 0, stop: int | None = None, chunk: int = 1000
    ) -> Iterator[ContactEvent]:
        """Events of contacts [start, stop), interleaved by time within chunks of contacts."""
        stop = self.contacts if stop is None else stop
        for first in range(start, stop, chunk):
            window = [
                e for i in range(first, min(first + chunk, stop)) for e in self.contact_events(i)
            ]
            window.sort(key=lambda e: (e.occurred_at, e.event_id))
            yield from window


class _ContactHistory:
    """One contact's life: created, then a random walk over the event kinds."""

    def __init__(self, workload: Workload, index: int):
        self.w, self.index = workload, index
        self.rng = random.Random(f"{workload.seed}:{workload.prefix}:events:{index}")
        self.contact_id = workload.contact_id(index)
        self.out: list[ContactEvent] = []

    def events(self) -> list[ContactEvent]:
        count = self.w.event_count(self.index)
        rng = self.rng
        created = NOW - HISTORY * rng.random()
        # Later events fall between creation and now; sorted, so chains read forwards.
        span = (NOW - created).total_seconds()
        moments = sorted(
            created + timedelta(seconds=span * rng.random() ** 0.7) for _ in range(count - 1)
        )
        self._emit(EventType.CONTACT_CREATED, created, self._profile())
        for moment in moments:
            if len(self.out) >= count:
                break
            self._one(rng.choices(_KINDS, _WEIGHTS)[0], moment, count)
        return self.out

    def _emit(self, kind: str, at: datetime, payload: dict) -> None:
        self.out.append(
            ContactEvent(
                event_id=f"{self.contact_id}-e{len(self.out):04d}",
                type=kind,
                contact_id=self.contact_id,
                occurred_at=at,
                source="bench",
                payload=payload,
            )
        )

    def _profile(self) -> dict:
        rng = self.rng
        profile = {
            "email": f"{self.contact_id}@example.com",
            "attributes": {
                "first_name": rng.choice(("Ada", "Lin", "Sam", "Noor", "Kai")),
                "plan": rng.choice(PLANS),
                "country": rng.choice(COUNTRIES),
                "company_size": rng.choice((1, 5, 20, 100, 1000)),
                "score": rng.randint(0, 100),
            },
        }
        if rng.random() < 0.3:
            # Real area codes with the fictional 555 exchange: valid numbers (the edge
            # refuses invalid ones) that reach nobody.
            profile["phone"] = f"+1{rng.choice(AREA_CODES)}555{rng.randint(0, 9999):04d}"
        return profile

    def _one(self, kind: str, at: datetime, limit: int) -> None:
        rng = self.rng
        match kind:
            case EventType.MESSAGE_SENT:
                self._email_chain(at, limit)
                return
            case EventType.CONTACT_UPDATED:
                payload = {
                    "attributes": rng.choice(
                        ({"plan": rng.choice(PLANS)}, {"score": rng.randint(0, 100)})
                    )
                }
            case EventType.TAG_ADDED | EventType.TAG_REMOVED:
                payload = {"tag": rng.choice(TAGS)}
            case EventType.UNSUBSCRIBED | EventType.RESUBSCRIBED:
                payload = {"channel": rng.choice(("email", "email", "sms"))}
            case EventType.ACTIVE:
                payload = {"platform": rng.choice(("web", "ios", "android"))}
            case EventType.FORM_SUBMITTED:
                payload = {
                    "form_id": rng.choice(FORMS),
                    "funnel": rng.choice(FUNNELS),
                    "page": rng.choice(PAGES),
                    "fields": {
                        "company": f"Co {rng.randint(1, 500)}",
                        "role": rng.choice(("founder", "marketer", "dev")),
                    },
                }
            case EventType.PAGE_VISITED:
                page = rng.choice(PAGES)
                payload = {
                    "page": page,
                    "funnel": rng.choice(FUNNELS),
                    "url": f"https://example.com/{page}",
                }
            case EventType.SMS_RECEIVED:
                payload = {"body": rng.choice(SMS_BODIES)}
            case EventType.PRODUCT_PURCHASED:
                payload = {
                    "product": rng.choice(PRODUCTS),
                    "quantity": rng.randint(1, 3),
                    "amount": float(rng.choice((19, 49, 99, 299))),
                    "currency": "USD",
                }
            case EventType.PRODUCT_ADDED | EventType.PRODUCT_REMOVED:
                payload = {"product": rng.choice(PRODUCTS)}
            case EventType.SUBSCRIPTION_STARTED | EventType.SUBSCRIPTION_ENDED:
                payload = {"plan": rng.choice(("pro", "team"))}
            case EventType.COURSE_ACCOUNT_CREATED:
                payload = {"platform": "learn"}
            case EventType.COURSE_STARTED | EventType.COURSE_COMPLETED:
                payload = {"course": rng.choice(COURSES)}
            case EventType.COURSE_STEP_COMPLETED:
                payload = {"course": rng.choice(COURSES), "step": f"lesson-{rng.randint(1, 8)}"}
            case _:
                payload = {
                    "name": rng.choice(CUSTOM),
                    "properties": {"value": rng.randint(1, 50), "source": "app"},
                }
        self._emit(kind, at, payload)

    def _email_chain(self, at: datetime, limit: int) -> None:
        """A flow step's email: sent, then usually delivered, often opened, sometimes clicked."""
        rng = self.rng
        flow_id = rng.choice(list(FLOWS))
        step_id = rng.choice(FLOWS[flow_id])
        key = f"{flow_id}:{step_id}:{self.contact_id}:{len(self.out)}"
        ref = {"message_key": key, "flow_id": flow_id, "step_id": step_id}
        self._emit(
            EventType.MESSAGE_SENT,
            at,
            {"channel": "email", **ref, "to": f"{self.contact_id}@example.com"},
        )
        follow_ups = [
            (EventType.EMAIL_DELIVERED, 0.95, ref),
            (EventType.EMAIL_OPENED, 0.45, ref),
            (
                EventType.EMAIL_CLICKED,
                0.35,
                {**ref, "url": f"https://example.com/{rng.choice(PAGES)}"},
            ),
        ]
        for offset, (kind, chance, payload) in enumerate(follow_ups, start=1):
            if len(self.out) >= limit or rng.random() >= chance:
                return
            self._emit(kind, min(NOW, at + timedelta(minutes=5 * offset)), payload)
