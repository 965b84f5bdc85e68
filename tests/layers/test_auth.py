"""Throttling of failed logins (``layers/auth.py``): per client and per account, never global."""

from __future__ import annotations

import pytest

from layers import auth


@pytest.fixture(autouse=True)
def _no_failures():
    auth.reset_failures()
    yield
    auth.reset_failures()


A, B = "203.0.113.7", "198.51.100.20"


def test_failures_slow_down_then_lock_that_client(monkeypatch):
    monkeypatch.setattr(auth, "MAX_FAILURES", 3)
    t0 = 1000.0
    delays = [auth.register_failure(A, now=t0 + i) for i in range(3)]
    assert delays == [auth.DELAY_PER_FAILURE_S * k for k in (1, 2, 3)]
    assert auth.locked_seconds(A, now=t0 + 3) == 0
    auth.register_failure(A, now=t0 + 3)  # the fourth within the window locks A
    wait = auth.locked_seconds(A, now=t0 + 4)
    assert 0 < wait <= auth.WINDOW_S
    # Unlocked when the oldest failure leaves the window.
    assert auth.locked_seconds(A, now=t0 + 4 + wait + 0.01) == 0
    # The delay is capped.
    for i in range(40):
        last = auth.register_failure(A, now=t0 + 10 + i)
    assert last == auth.MAX_DELAY_S


def test_failures_of_one_client_do_not_lock_another():
    t0 = 5000.0
    # A keeps guessing, faster than the attack (one every 15 s kept the old global lock shut).
    for i in range(auth.MAX_FAILURES * 3):
        auth.register_failure(A, now=t0 + i)
    assert auth.locked_seconds(A, now=t0 + 100) > 0, "A is locked"
    assert auth.locked_seconds(B, now=t0 + 100) == 0, "B is not"
    assert auth.locked_seconds(None, now=t0 + 100) == 0, "nor a local planner"
    # B's own first failure waits only the account's share of A's guesses, never a lock.
    first_b = auth.register_failure(B, now=t0 + 100)
    assert first_b <= max(auth.DELAY_PER_FAILURE_S, auth.MAX_ACCOUNT_DELAY_S)
    assert auth.locked_seconds(B, now=t0 + 101) == 0


def test_the_account_slows_guesses_from_many_clients_but_never_locks():
    t0 = 9000.0
    delays = [auth.register_failure(f"192.0.2.{i}", now=t0 + i * 0.01) for i in range(200)]
    # Each address fails once: its own rule would wait 0.5 s; the account adds up past MAX_FAILURES.
    assert delays[: auth.MAX_FAILURES] == [auth.DELAY_PER_FAILURE_S] * auth.MAX_FAILURES
    assert delays[-1] == auth.MAX_ACCOUNT_DELAY_S > delays[0], "a distributed guesser is slowed on the account"
    assert all(auth.locked_seconds(f"192.0.2.{i}", now=t0 + 3) == 0 for i in range(200))
    assert auth.locked_seconds(None, now=t0 + 3) == 0


def test_a_planner_who_mistypes_is_slowed_only_by_their_own_client(monkeypatch):
    monkeypatch.setattr(auth, "DELAY_PER_FAILURE_S", 0.0)
    assert [auth.register_failure(None, now=50.0 + i) for i in range(3)] == [0.0, 0.0, 0.0]


def test_success_forgets_the_clients_failures(monkeypatch):
    monkeypatch.setattr(auth, "MAX_FAILURES", 2)
    for i in range(3):
        auth.register_failure(A, now=100.0 + i)
    assert auth.locked_seconds(A, now=103.0) > 0
    auth.register_success(A)
    assert auth.locked_seconds(A, now=103.0) == 0


def test_failures_age_out_of_the_window():
    auth.register_failure(A, now=0.0)
    auth.register_failure(A, now=1.0)
    assert auth.register_failure(A, now=1.0 + auth.WINDOW_S + 5) == auth.DELAY_PER_FAILURE_S


@pytest.mark.parametrize(
    "address, key",
    [
        (None, auth.LOCAL_CLIENT),
        ("", auth.LOCAL_CLIENT),
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("no es una ip", "no es una ip"),
    ],
)
def test_client_key(address, key):
    assert auth.client_key(address) == key


def test_an_ipv6_host_cannot_escape_its_lock_by_changing_address(monkeypatch):
    monkeypatch.setattr(auth, "MAX_FAILURES", 3)
    for i in range(5):
        auth.register_failure(f"2001:db8:0:7::{i + 1:x}", now=10.0 + i)
    assert auth.locked_seconds("2001:db8:0:7::ffff", now=16.0) > 0
    assert auth.locked_seconds("2001:db8:0:8::1", now=16.0) == 0


def test_memory_of_clients_is_bounded(monkeypatch):
    monkeypatch.setattr(auth, "MAX_CLIENTS", 50)
    for i in range(500):
        auth.register_failure(f"10.0.{i // 250}.{i % 250}", now=1.0)
    assert len(auth._clients) == 50
