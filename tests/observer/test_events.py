"""The observer's EventTap: a structlog processor that keeps the recent events, as text, without
the credentials of URLs or the values of secret-looking keys, and passes every event on as it
came."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from otpy.observer._events import MAX_FIELD, EventTap, scrub

pytestmark = pytest.mark.timeout(10)


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr today")


def kept(tap: EventTap, method: str = "info", **event: Any) -> Any:
    event.setdefault("event", "something_happened")
    out = tap(None, method, event)
    assert out is event  # passed on, the same mapping
    return tap.events[-1]


def test_an_event_is_passed_on_untouched() -> None:
    tap = EventTap()
    event = {"event": "hello", "url": "ws://u:pw@host/", "token": "abc", "n": 3}

    assert tap(None, "info", event) is event
    assert event == {"event": "hello", "url": "ws://u:pw@host/", "token": "abc", "n": 3}


def test_an_event_is_kept_as_text_with_its_level_and_a_number() -> None:
    tap = EventTap()

    first = kept(tap, "warning", event="child_exited", restarts=2, reason=ValueError("x"))
    second = kept(tap, "exception", event="process_crashed")

    assert (first.seq, first.level, first.event) == (1, "warning", "child_exited")
    assert first.fields == {"restarts": "2", "reason": "ValueError('x')"}
    assert (second.seq, second.level) == (2, "error")


def test_who_the_event_is_about_comes_from_its_pid_and_name_fields() -> None:
    tap = EventTap()

    e = kept(tap, child_id="a", pid="<0.9.0>", supervisor="app", other="x")

    assert e.who == ("<0.9.0>", "a", "app")  # in the order of WHO_FIELDS, "other" is not one


def test_the_user_and_password_of_a_url_are_scrubbed() -> None:
    tap = EventTap()

    e = kept(tap, url="ws://alice:s3cr3t@feed.example/prices", reason="to ws://bob@h/ failed")

    assert e.fields["url"] == "ws://<redacted>@feed.example/prices"
    assert e.fields["reason"] == "to ws://<redacted>@h/ failed"


def test_a_password_without_a_user_is_scrubbed_too() -> None:
    assert scrub("wss://:s3cr3t@feed.example/") == "wss://<redacted>@feed.example/"


def test_an_address_without_credentials_is_left_alone() -> None:
    text = "http://127.0.0.1:8040/ws and ws://[::1]:9/x?a=1"

    assert scrub(text) == text


def test_a_long_value_is_scrubbed_before_it_is_cut() -> None:
    tap = EventTap()
    value = "x" * (MAX_FIELD - 20) + " ws://alice:s3cr3t-password@feed.example/"

    e = kept(tap, detail=value)

    assert len(e.fields["detail"]) == MAX_FIELD
    assert "alice" not in e.fields["detail"] and "s3cr3t" not in e.fields["detail"]


def test_the_event_name_is_scrubbed_too() -> None:
    tap = EventTap()

    e = kept(tap, event="could not reach ws://alice:s3cr3t@feed.example/")

    assert e.event == "could not reach ws://<redacted>@feed.example/"


@pytest.mark.parametrize(
    "key", ["token", "api_token", "Authorization", "password", "cookie", "client_secret"]
)
def test_the_value_of_a_secret_looking_key_is_redacted(key: str) -> None:
    tap = EventTap()

    e = kept(tap, **{key: "hunter2-hunter2"})

    assert e.fields[key] == "<redacted>"


def test_an_exception_in_exc_info_is_kept_as_its_type_and_scrubbed_message() -> None:
    tap = EventTap()

    e = kept(tap, exc_info=ConnectionError("ws://alice:s3cr3t@h/ refused"))
    shown = kept(tap, exc_info=True)

    assert e.fields["exc_info"] == "ConnectionError: ws://<redacted>@h/ refused"
    assert shown.fields["exc_info"] == "(traceback)"


def test_a_value_that_cannot_be_shown_never_breaks_the_logging() -> None:
    tap = EventTap()
    event = {"event": "odd", "value": BadRepr()}

    assert tap(None, "info", event) is event
    assert list(tap.events) == []


def test_only_the_last_events_are_kept_and_since_gives_the_newer_ones() -> None:
    tap = EventTap(maxlen=3)
    for n in range(5):
        kept(tap, event=f"e{n}")

    assert [e.event for e in tap.events] == ["e2", "e3", "e4"]
    assert [e.seq for e in tap.since(3)] == [4, 5]
    assert tap.since(5) == []


def test_installed_before_the_renderer_it_sees_the_events_of_loggers_bound_before() -> None:
    bound_before = structlog.get_logger("otpy").bind(pid="<0.1.0>")
    tap = EventTap()
    with capture_logs() as logs:
        tap.install()
        try:
            assert structlog.get_config()["processors"][-2] is tap
            bound_before.info("seen", url="ws://u:pw@h/")
        finally:
            tap.uninstall()
        assert tap not in structlog.get_config()["processors"]
        bound_before.info("not_seen")

    assert [(e.event, e.who, e.fields["url"]) for e in tap.events] == [
        ("seen", ("<0.1.0>",), "ws://<redacted>@h/")
    ]
    assert [e["event"] for e in logs] == ["seen", "not_seen"]
    assert logs[0]["url"] == "ws://u:pw@h/"  # the processors after the tap get the event as is


def test_installed_twice_it_is_in_the_list_once() -> None:
    tap = EventTap()
    with capture_logs():
        tap.install()
        tap.install()
        try:
            assert structlog.get_config()["processors"].count(tap) == 1
        finally:
            tap.uninstall()
        assert tap not in structlog.get_config()["processors"]


def test_with_a_tuple_of_processors_configured_it_is_put_first_for_new_loggers() -> None:
    before = structlog.get_config()["processors"]
    seen: list[str] = []

    def keep(_: Any, __: str, event: Any) -> Any:
        seen.append(event["event"])
        raise structlog.DropEvent

    structlog.configure(processors=(keep,))
    try:
        tap = EventTap()
        tap.install()
        structlog.get_logger("otpy").info("after_install")
        tap.uninstall()
        structlog.get_logger("otpy").info("after_uninstall")
    finally:
        structlog.configure(processors=before)

    assert [e.event for e in tap.events] == ["after_install"]
    assert seen == ["after_install", "after_uninstall"]
