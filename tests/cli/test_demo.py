"""``wsclient demo`` end to end, as ``make demo`` runs it (not on a terminal: plain lines)."""

from __future__ import annotations

import re

import pytest

from .support import run_cli


@pytest.mark.timeout(60)
async def test_demo_survives_every_failure_and_its_no_loss_check_passes() -> None:
    c = await run_cli("demo")
    try:
        assert await c.wait() == 0, c.out.text + c.err.text
    finally:
        await c.kill()
    out = c.out.text
    for n, title in enumerate(
        [
            "the tree starts and subscribes",
            "the server restarts",
            "a bad tick crashes a handler",
            "the server goes silent",
            "the handshake is answered 503 with Retry-After",
        ],
        start=1,
    ):
        assert f"[{n}/6] {title}" in out
    assert "FAILED" not in out
    assert out.count("  ok (") == 6
    # each failure is shown as it is survived
    assert re.search(r"reconnecting in \d\.\d\d s", out)
    assert 'crashed: TypeError("float() argument' in out
    assert "restarted eth (its restart #1)" in out
    assert "heartbeat: no answer to a ping" in out
    assert "HTTP 503, Retry-After 1s" in out and "reconnecting in 1.00 s" in out
    # the summary: per client, then the check
    assert re.search(r"^eth\s+ETH-USD\s+[\d,]+\s+\d+\s+\d+\s+1$", out, re.M), out
    assert "no-loss check: PASSED" in out
    assert re.search(r"^demo every failure survived in \d+\.\d s$", out, re.M)
    assert "\x1b[" not in out
