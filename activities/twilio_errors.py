"""How a Twilio REST answer maps onto our ports' errors, for every Twilio adapter."""

from collections.abc import Iterator
from contextlib import contextmanager

from twilio.base.exceptions import TwilioRestException

from activities.ports import ProviderRejected, ProviderUnavailable


@contextmanager
def twilio_errors(provider: str) -> Iterator[None]:
    """408, 429 and 5xx (and network trouble) are worth retrying; other 4xx are final."""
    try:
        yield
    except TwilioRestException as exc:
        if exc.status in (408, 429) or exc.status >= 500:
            raise ProviderUnavailable(provider, f"HTTP {exc.status}: {exc.msg}") from None
        raise ProviderRejected(provider, exc.status, f"{exc.code}: {exc.msg}") from None
    except (TimeoutError, OSError) as exc:
        raise ProviderUnavailable(provider, f"network error: {exc}") from None
