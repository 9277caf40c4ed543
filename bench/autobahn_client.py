#!/usr/bin/env python3
"""An echo client on wsclient that walks the Autobahn TestSuite's cases (see ``make conformance``).

The kit in ``../shared/autobahn`` starts the fuzzingserver and runs this script with
``AUTOBAHN_URL`` and ``AUTOBAHN_AGENT`` set. For each case the script starts one
:class:`Echo` client, a plain ``WebsocketClient`` whose ``handle_frame`` replies with the frame it
got, and waits for the process to end: its ``handle_disconnect`` stops it, so one case is one
connection. Pings and closes are answered by wsclient itself, as a user's client would see them.

usage: python bench/autobahn_client.py [--compress] [--case-timeout S] [--cases 1-10,42] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit

import structlog

import otpy
import wsclient
from wsclient import Binary, Ok, Reply, Stop, Text

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Echo(wsclient.WebsocketClient):
    """Reply to each text or binary frame with the frame itself; end at the first disconnect."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if type(frame) is Text or type(frame) is Binary:
            return Reply(frame, state)
        return Ok(state)

    async def handle_disconnect(self, reason: Any, state: Any) -> Stop:
        return Stop("normal", state)


class CaseCount(Echo):
    """Send the first text frame (the case count) to the owner pid in the state."""

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if type(frame) is Text:
            otpy.send(state, ("count", int(frame.data)))
        return Ok(state)


async def one_connection(cls: type[Echo], url: str, timeout: float, compress: bool) -> None:
    """Run one client of `cls` on `url` until it ends; TimeoutError after `timeout` s."""
    pid = await cls.start(
        url,
        otpy.self_pid(),
        compress=compress,
        max_msg_size=None,  # section 9 sends messages of up to 16 MiB
        ping_interval=None,  # the server judges the frames it gets; send none of our own
        connect_timeout=10.0,
        close_timeout=5.0,
    )
    ref = otpy.monitor(pid)
    try:
        await otpy.receive(timeout, lambda m: type(m) is otpy.Down and m.ref == ref)
    except otpy.ReceiveTimeout:
        otpy.demonitor(ref, flush=True)
        await otpy.stop(pid, "shutdown")
        raise TimeoutError(f"no close after {timeout}s") from None


def parse_cases(text: str | None, count: int) -> list[int]:
    if not text:
        return list(range(1, count + 1))
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return [n for n in out if 1 <= n <= count]


async def main(args: argparse.Namespace) -> int:
    base = os.environ.get("AUTOBAHN_URL", "ws://127.0.0.1:9001").rstrip("/")
    agent = os.environ.get("AUTOBAHN_AGENT", "client")
    if urlsplit(base).hostname not in LOOPBACK:
        print(f"refusing non-loopback AUTOBAHN_URL {base!r}", file=sys.stderr)
        return 2
    t_start = time.monotonic()
    await one_connection(CaseCount, base + "/getCaseCount", 10.0, False)
    _, count = await otpy.receive(10.0, lambda m: type(m) is tuple and m[0] == "count")
    cases = parse_cases(args.cases, count)
    errors = 0
    for n in cases:
        url = f"{base}/runCase?case={n}&agent={quote(agent)}"
        t0 = time.monotonic()
        try:
            await one_connection(Echo, url, args.case_timeout, args.compress)
        except TimeoutError as e:
            errors += 1
            print(f"case {n}: {e}", file=sys.stderr)
        dt = time.monotonic() - t0
        if args.verbose or dt > 5:
            print(f"case {n}/{count}: {dt:.2f}s", file=sys.stderr)
    await one_connection(Echo, f"{base}/updateReports?agent={quote(agent)}", 30.0, False)
    mode = "with" if args.compress else "without"
    print(
        f"wsclient echo client: {len(cases)} of {count} cases {mode} compression in "
        f"{time.monotonic() - t_start:.1f}s, {errors} timed out client-side"
    )
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--compress", action="store_true", help="offer permessage-deflate")
    ap.add_argument("--case-timeout", type=float, default=60.0)
    ap.add_argument("--cases", help="only these case numbers, e.g. 1-10,42")
    ap.add_argument("-v", "--verbose", action="store_true")
    parsed = ap.parse_args()
    level = logging.INFO if parsed.verbose else logging.WARNING  # connects and closes are info
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    sys.exit(asyncio.run(main(parsed)))
