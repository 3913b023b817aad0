"""One thread renews the leases of every send in flight, and stops when none is."""

import threading
import time

import pytest

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


def test_a_thread_that_cannot_start_leaves_nothing_behind(monkeypatch):
    renew = Recorder()
    leases = Leases(renew, lambda: 0.05)
    start = threading.Thread.start

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(RuntimeError), leases.holding("a"):
        pass
    assert leases.held() == [] and not leases.running()
    monkeypatch.setattr(threading.Thread, "start", start)
    with leases.holding("b"):
        assert until(lambda: ["b"] in renew.calls)


def test_a_thread_ended_by_an_error_is_replaced_by_the_next_send():
    renew = Recorder()
    intervals = iter([ValueError("bad interval")])

    def every() -> float:
        failure = next(intervals, None)
        if failure is not None:
            raise failure
        return 0.05

    leases = Leases(renew, every)
    with leases.holding("a"):
        assert until(lambda: not leases.running())
    with leases.holding("b"):
        assert until(lambda: ["b"] in renew.calls)
