"""One thread renews the leases of every send in flight, and stops when none is."""

import threading
import time

from activities.leases import Leases


class Recorder:
    def __init__(self, fail_first: int = 0):
        self.calls: list[list[str]] = []
        self.fail_first = fail_first
        self.renewed = threading.Event()

    def __call__(self, keys: list[str]) -> None:
        self.calls.append(sorted(keys))
        if len(self.calls) <= self.fail_first:
            raise RuntimeError("database unavailable")
        self.renewed.set()


def until(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_every_key_in_flight_is_renewed_together_by_one_thread():
    renew = Recorder()
    leases = Leases(renew, lambda: 0.05)
    with leases.holding("a"), leases.holding("b"):
        # One call for both keys, not one per key.
        assert until(lambda: ["a", "b"] in renew.calls)


def test_the_thread_stops_when_nothing_is_held_and_starts_again_for_the_next_send():
    renew = Recorder()
    leases = Leases(renew, lambda: 0.05)
    with leases.holding("a"):
        assert until(lambda: renew.calls)
    assert until(lambda: not leases.running())
    count = len(renew.calls)
    time.sleep(0.2)
    assert len(renew.calls) == count  # the thread is gone: nothing renews nothing
    with leases.holding("b"):
        assert until(lambda: ["b"] in renew.calls)


def test_a_key_held_twice_is_renewed_until_both_let_go():
    leases = Leases(Recorder(), lambda: 0.05)
    with leases.holding("a"):
        with leases.holding("a"):
            pass
        assert leases.held() == ["a"]
    assert leases.held() == []


def test_a_failed_renewal_is_tried_again_at_the_next_tick():
    renew = Recorder(fail_first=1)
    leases = Leases(renew, lambda: 0.05)
    with leases.holding("a"):
        assert renew.renewed.wait(10)
    assert renew.calls[:2] == [["a"], ["a"]]
