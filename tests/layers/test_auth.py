"""The planner passphrase: scrypt hash lines, checking, configuration, throttling and ``cli.py passphrase-hash``."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys

import pytest

from layers import auth, settings
from layers._errors import SitError

#: Cheap scrypt parameters for tests (the default costs about 50 ms per hash).
FAST = {"n": 2**4, "r": 1, "p": 1}
PASSPHRASE = "Vallenar río Huasco 2025"


@pytest.fixture(autouse=True)
def _no_failures():
    auth.reset_failures()
    yield
    auth.reset_failures()


def test_round_trip_with_default_parameters():
    line = auth.hash_passphrase(PASSPHRASE)
    prefix, n, r, p, salt, key = line.split("$")
    assert (prefix, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(base64.b64decode(salt)) == auth.SALT_BYTES and len(base64.b64decode(key)) == auth.KEY_BYTES
    assert PASSPHRASE not in line
    assert auth.verify_passphrase(PASSPHRASE, line)


@pytest.mark.parametrize("typed", ["vallenar río huasco 2025", "Vallenar río Huasco 2025 ", "Vallenar rio Huasco 2025", "", "x"])
def test_wrong_passphrase(typed):
    line = auth.hash_passphrase(PASSPHRASE, **FAST)
    assert not auth.verify_passphrase(typed, line)


def test_different_salts_same_passphrase():
    first, second = auth.hash_passphrase(PASSPHRASE, **FAST), auth.hash_passphrase(PASSPHRASE, **FAST)
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert auth.verify_passphrase(PASSPHRASE, first) and auth.verify_passphrase(PASSPHRASE, second)


def test_the_parameters_of_the_line_are_used():
    line = auth.hash_passphrase(PASSPHRASE, n=2**5, r=2, p=2)
    assert line.split("$")[1:4] == ["32", "2", "2"]
    assert auth.verify_passphrase(PASSPHRASE, line)
    # The same salt and key with other parameters no longer match.
    parts = line.split("$")
    parts[1] = "16"
    assert not auth.verify_passphrase(PASSPHRASE, "$".join(parts))


def test_non_ascii_passphrase():
    line = auth.hash_passphrase("ñandú café 🌵 Domeyko", **FAST)
    assert auth.verify_passphrase("ñandú café 🌵 Domeyko", line)
    assert not auth.verify_passphrase("nandu cafe 🌵 Domeyko", line)


def _malformed() -> list[str]:
    good = auth.hash_passphrase(PASSPHRASE, **FAST)
    _, n, r, p, salt, key = good.split("$")
    return [
        "",
        "   ",
        "no es un hash",
        PASSPHRASE,
        good.replace("scrypt$", "bcrypt$", 1),
        "$".join(["scrypt", n, r, p, salt]),  # missing key
        "$".join(["scrypt", n, r, p, salt, key, "extra"]),
        "$".join(["scrypt", "x", r, p, salt, key]),
        "$".join(["scrypt", "15", r, p, salt, key]),  # n not a power of two
        "$".join(["scrypt", "1", r, p, salt, key]),
        "$".join(["scrypt", str(2**30), r, p, salt, key]),  # would need gigabytes
        "$".join(["scrypt", str(2**20), "32", p, salt, key]),  # 4 GB
        "$".join(["scrypt", n, "0", p, salt, key]),
        "$".join(["scrypt", n, r, "-1", salt, key]),
        "$".join(["scrypt", n, r, p, "***", key]),  # not base64
        "$".join(["scrypt", n, r, p, salt, key[:-3] + "!!="]),
        "$".join(["scrypt", n, r, p, "YWJj", key]),  # salt of 3 bytes
        "$".join(["scrypt", n, r, p, salt, "YWJj"]),  # key of 3 bytes
    ]


def test_malformed_hash_is_false_and_logged_never_raised(caplog):
    for line in _malformed():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="layers.auth"):
            assert auth.verify_passphrase(PASSPHRASE, line) is False, line
        assert not auth.is_valid_hash(line), line
        if line.strip():
            assert any("malformed" in r.getMessage() for r in caplog.records), line
            assert all(PASSPHRASE not in r.getMessage() for r in caplog.records)
    assert auth.verify_passphrase(PASSPHRASE, None) is False


def test_valid_line_with_surrounding_spaces():
    line = auth.hash_passphrase(PASSPHRASE, **FAST)
    assert auth.is_valid_hash(f"  {line}\n")
    assert auth.verify_passphrase(PASSPHRASE, f"  {line}\n")


def test_short_passphrase_and_bad_parameters_are_refused():
    with pytest.raises(auth.PassphraseError, match="al menos 8 caracteres") as info:
        auth.hash_passphrase("corta")
    assert isinstance(info.value, SitError)
    with pytest.raises(ValueError):
        auth.hash_passphrase(PASSPHRASE, n=1000)


def test_configured_hash_from_environment_and_secrets():
    line = auth.hash_passphrase(PASSPHRASE, **FAST)
    other = auth.hash_passphrase("otra clave larga", **FAST)
    assert auth.configured_hash({}) is None
    assert auth.configured_hash({auth.ENV_VAR: ""}) is None
    assert auth.configured_hash({auth.ENV_VAR: "  \n"}) is None
    assert auth.configured_hash({auth.ENV_VAR: f" {line}\n"}) == line
    assert auth.configured_hash({}, {auth.SECRETS_KEY: line}) == line
    assert auth.configured_hash({}, {auth.SECRETS_KEY: ""}) is None
    assert auth.configured_hash({}, {auth.SECRETS_KEY: 12345}) is None
    assert auth.configured_hash({}, {}) is None
    # The environment wins over the secrets.
    assert auth.configured_hash({auth.ENV_VAR: line}, {auth.SECRETS_KEY: other}) == line


def test_configured_hash_reads_os_environ_at_call_time(monkeypatch):
    line = auth.hash_passphrase(PASSPHRASE, **FAST)
    monkeypatch.delenv(auth.ENV_VAR, raising=False)
    assert auth.configured_hash() is None
    monkeypatch.setenv(auth.ENV_VAR, line)
    assert auth.configured_hash() == line


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


# --------------------------------------------------------------------------- cli.py passphrase-hash


def _cli(stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(settings.PROJECT_DIR / "cli.py"), "passphrase-hash"],
        input=stdin, capture_output=True, text=True, cwd=settings.PROJECT_DIR,
        env={**os.environ, "SIT_DATA_DIR": os.environ.get("SIT_DATA_DIR", str(settings.PROJECT_DIR / "var"))},
        timeout=60,
    )


def test_cli_passphrase_hash_reads_stdin_and_prints_one_line():
    proc = _cli(PASSPHRASE + "\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and proc.stdout.endswith("\n")
    assert auth.is_valid_hash(lines[0])
    assert auth.verify_passphrase(PASSPHRASE, lines[0])
    assert not auth.verify_passphrase(PASSPHRASE + " ", lines[0])  # only the line ending is dropped
    assert PASSPHRASE not in proc.stdout + proc.stderr


def test_cli_passphrase_hash_windows_line_ending_and_no_newline():
    for stdin in (PASSPHRASE + "\r\n", PASSPHRASE):
        proc = _cli(stdin)
        assert proc.returncode == 0, proc.stderr
        assert auth.verify_passphrase(PASSPHRASE, proc.stdout.strip())


@pytest.mark.parametrize("stdin", ["", "\n", "corta\n"])
def test_cli_passphrase_hash_refuses_short_passphrases(stdin):
    proc = _cli(stdin)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == "Error: La clave debe tener al menos 8 caracteres."
