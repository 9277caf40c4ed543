"""What the demo shows: a live screen on a terminal (rich), plain lines anywhere else.

Both views take the same calls from the demo's script (a step begins, a note, a wait, an event,
the summary). The live one redraws ten times a second: the supervision tree read from the
supervisors themselves (``which_children``), each client's connection and counters, the latest
events, and a progress line for the current wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

import otpy
from otpy.supervisor import supervisor_flags, which_children
from wsclient._cli._output import Output, clock

if TYPE_CHECKING:
    from wsclient._cli.demo import ClientRecord, Recorder, Step, Verdict

__all__ = ["LiveView", "PlainView", "View", "make_view"]

#: Seconds a child that has just been restarted stays highlighted.
HIGHLIGHT = 1.5
#: Events kept on screen.
EVENT_LINES = 9


def event_line(event: MutableMapping[str, Any]) -> tuple[str, str, str] | None:
    """(who, message, style) for a log event worth showing, or None."""
    name = event.get("event")
    who = str(event.get("client") or event.get("name") or event.get("supervisor") or "")
    if name == "ws_connected":
        return who, "connected", "green"
    if name == "demo_disconnected":
        return who, f"disconnected: {event.get('reason')}", "yellow"
    if name == "ws_reconnect_scheduled":
        delay = float(event.get("delay", 0))
        return who, f"reconnecting in {delay:.2f} s (attempt {event.get('attempt')})", "yellow"
    if name == "ws_heartbeat_timeout":
        return who, "heartbeat: no answer to a ping; the connection is dead", "magenta"
    if name == "process_crashed":
        return who, f"crashed: {event.get('reason')}", "bold red"
    if name == "child_restarted":
        child = event.get("child_id")
        return who, f"restarted {child} (its restart #{event.get('restarts')})", "bold magenta"
    if name in ("child_exited", "ws_connecting", "child_started", "child_terminated"):
        return None
    if event.get("level") in ("warning", "error", "critical"):
        return who, f"{name} {event.get('reason', '')}".strip(), "red"
    return None


class _Base:
    def __init__(self, output: Output, recorder: Recorder) -> None:
        self.output = output
        self.recorder = recorder
        self.root: otpy.Pid | None = None

    def attach(self, root: otpy.Pid) -> None:
        self.root = root

    async def __aenter__(self) -> _Base:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class PlainView(_Base):
    """Line by line, no colour and no redrawing: for pipes, files and CI logs."""

    def _print(self, line: str) -> None:
        self.output.line(line)  # after | head: nothing, and the demo goes on to its end

    def step(self, n: int, total: int, title: str) -> None:
        self._print(f"\n[{n}/{total}] {title}")

    def note(self, text: str) -> None:
        self._print(f"  - {text}")

    def message(self, text: str) -> None:
        self._print(text)

    def step_done(self, ok: bool, seconds: float) -> None:
        self._print(f"  {'ok' if ok else 'FAILED'} ({seconds:.2f} s)")

    async def wait(self, rec: Recorder, pred: Callable[[], bool], what: str) -> bool:
        t0 = time.monotonic()
        ok = await rec.wait_until(pred)
        took = time.monotonic() - t0
        result = f"after {took:.2f} s" if ok else f"NOT within {took:.1f} s"
        self._print(f"  ... waited for {what}: {result}")
        return ok

    def log_event(self, event: MutableMapping[str, Any]) -> None:
        shown = event_line(event)
        if shown is not None:
            who, message, _ = shown
            self._print(f"  {clock()} {who:<6} {message}")

    def summary(
        self, tree: str, steps: list[Step], verdict: Verdict | None, elapsed: float, passed: bool
    ) -> None:
        self._print("\nThe tree at the end:\n" + tree)
        lines = client_lines(self.recorder) + check_lines(verdict, elapsed, passed)
        self._print("\n" + "\n".join(lines))


class LiveView(_Base):
    """The terminal view: one screen, redrawn in place."""

    def __init__(self, output: Output, recorder: Recorder) -> None:
        super().__init__(output, recorder)
        self.events: deque[Text] = deque(maxlen=EVENT_LINES)
        self.title = Text("starting")
        self.waiting: str | None = None
        self.wait_began = 0.0
        self.tree: Tree = Tree("demo")
        self.restarted_at: dict[str, float] = {}
        self.live = Live(console=output.out, refresh_per_second=10, transient=False)
        self._drawer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveView:
        self.live.start()
        self._drawer = asyncio.get_running_loop().create_task(self._draw_forever())
        return self

    async def __aexit__(self, *exc: object) -> None:
        drawer, self._drawer = self._drawer, None
        if drawer is not None:
            drawer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drawer
        self.waiting = None
        with contextlib.suppress(otpy.NoProcess, otpy.ServerExited):
            await self._read_tree()
        self.live.update(self._screen(), refresh=True)
        self.live.stop()

    def step(self, n: int, total: int, title: str) -> None:
        self.title = Text.assemble(
            ("wsclient demo", "bold"), f"  step {n}/{total}: ", (title, "bold cyan")
        )
        self._add("", f"step {n}/{total}: {title}", "bold cyan")

    def note(self, text: str) -> None:
        self._add("", text, "italic")

    def message(self, text: str) -> None:
        """A line printed outside the live screen (above it while it runs)."""
        self.live.console.print(Text(text, style="bold"))

    def step_done(self, ok: bool, seconds: float) -> None:
        self._add(
            "", f"{'done' if ok else 'FAILED'} in {seconds:.2f} s", "green" if ok else "bold red"
        )

    async def wait(self, rec: Recorder, pred: Callable[[], bool], what: str) -> bool:
        self.waiting, self.wait_began = what, time.monotonic()
        try:
            return await rec.wait_until(pred)
        finally:
            self.waiting = None

    def log_event(self, event: MutableMapping[str, Any]) -> None:
        if event.get("event") == "child_restarted":
            self.restarted_at[str(event.get("child_id"))] = time.monotonic()
        shown = event_line(event)
        if shown is not None:
            self._add(*shown)

    def _add(self, who: str, message: str, style: str) -> None:
        line = Text(f"{clock()} ", style="dim")
        line.append(f"{who:<6} ", style="bold")
        line.append(message, style=style)
        self.events.append(line)

    async def _draw_forever(self) -> None:
        while True:
            with contextlib.suppress(otpy.NoProcess, otpy.ServerExited, otpy.CallTimeout):
                await self._read_tree()
            self.live.update(self._screen())
            await asyncio.sleep(0.1)  # the redraw rate, not a wait for an event

    async def _read_tree(self) -> None:
        if self.root is None:
            return
        tree = Tree(await self._sup_label("demo", self.root))
        for child in await which_children(self.root, timeout=1.0):
            if child.type == "supervisor" and child.pid is not None:
                branch = tree.add(await self._sup_label(str(child.id), child.pid))
                for leaf in await which_children(child.pid, timeout=1.0):
                    branch.add(self._client_label(leaf))
            else:
                tree.add(Text.assemble((str(child.id), "bold"), f" {child.pid!r} {child.status}"))
        self.tree = tree

    async def _sup_label(self, name: str, pid: otpy.Pid) -> Text:
        flags = await supervisor_flags(pid, timeout=1.0)
        return Text.assemble(
            (name, "bold"), f" {pid!r} ", (flags["strategy"], "cyan"),
            f", restarts {flags['restarts_in_window']}/{flags['max_restarts']}"
            f" in {flags['max_seconds']:g} s",
        )  # fmt: skip

    def _client_label(self, child: Any) -> Text:
        name = str(child.id)
        rec: ClientRecord | None = self.recorder.clients.get(name)
        label = Text.assemble((f"{name:<4}", "bold"), f" {child.pid!r} " if child.pid else " - ")
        if rec is None:
            return label
        if child.status != "running":
            label.append("restarting", style="bold magenta")
        elif rec.connected:
            label.append("● connected", style="green")
        elif rec.retry_at is not None:
            label.append(
                f"○ backoff, retry in {max(rec.retry_at - time.time(), 0):.1f} s", "yellow"
            )
        else:
            label.append("○ connecting", style="yellow")
        label.append(f"  {rec.frames:,} ticks  reconnects {max(rec.connects - 1, 0)}  ")
        fresh = time.monotonic() - self.restarted_at.get(name, -HIGHLIGHT) < HIGHLIGHT
        label.append(
            f"restarts {child.restarts}{' (just now)' if fresh else ''}",
            style="bold reverse magenta" if fresh else "",
        )
        return label

    def _screen(self) -> Group:
        events = Text("\n").join(list(self.events)) if self.events else Text("-", style="dim")
        parts: list[Any] = [
            self.title,
            Panel(self.tree, title="supervision tree", title_align="left", border_style="blue"),
            Panel(events, title="events", title_align="left", border_style="dim"),
        ]
        if self.waiting is not None:
            took = time.monotonic() - self.wait_began
            parts.append(Spinner("dots", text=Text(f" waiting for {self.waiting}... {took:.1f} s")))
        return Group(*parts)

    def summary(
        self, tree: str, steps: list[Step], verdict: Verdict | None, elapsed: float, passed: bool
    ) -> None:
        table = Table(title="summary", title_justify="left")
        for col in ("client", "symbol", "ticks handled", "connections", "reconnects", "restarts"):
            table.add_column(col, justify="left" if col in ("client", "symbol") else "right")
        for rec in self.recorder.clients.values():
            table.add_row(
                rec.name, rec.symbol, f"{rec.frames:,}", str(rec.connects),
                str(max(rec.connects - 1, 0)), str(rec.restarts),
            )  # fmt: skip
        self.output.out.print(table)
        for line in check_lines(verdict, elapsed, passed):
            style = "bold green" if line.startswith("no-loss check: PASSED") else ""
            style = "bold red" if "FAILED" in line else style
            self.output.out.print(Text(line, style=style))


def client_lines(recorder: Recorder) -> list[str]:
    """The summary's table as text: a header, then one line per client."""
    lines = ["client  symbol    ticks handled  connections  reconnects  restarts"]
    for r in recorder.clients.values():
        lines.append(
            f"{r.name:<7} {r.symbol:<9} {r.frames:>13,} {r.connects:>12} "
            f"{max(r.connects - 1, 0):>11} {r.restarts:>9}"
        )
    return lines


def check_lines(verdict: Verdict | None, elapsed: float, passed: bool) -> list[str]:
    """The no-loss check's lines and the verdict."""
    lines: list[str] = []
    if verdict is None:
        lines.append("no-loss check: not run (a step failed)")
    elif verdict.passed:
        finals = ", ".join(f"{name} {got}/{sent}" for name, got, sent in verdict.final)
        lines.append(
            "no-loss check: PASSED - on every connection, each tick the server sent reached "
            "handle_frame once and in order; on each client's last connection all of them "
            f"did ({finals}); {verdict.connections} connections, {verdict.sent_total:,} ticks sent"
        )
        if verdict.cut_in_flight:
            lines.append(
                f"  {verdict.cut_in_flight} tick(s) were in flight when their connection was cut "
                "or their client crashed; they went down with it, as TCP and a crash do"
            )
    else:
        lines.append("no-loss check: FAILED")
        lines += [f"  {a}" for a in verdict.anomalies]
        lines += [f"  {n}: {g} of {s} ticks handled" for n, g, s in verdict.final if g != s]
    verdict_line = "every failure survived" if passed else "FAILED"
    lines.append(f"demo {verdict_line} in {elapsed:.1f} s")
    return lines


View = LiveView | PlainView


def make_view(output: Output, recorder: Recorder) -> View:
    """The live view on a terminal, the plain one otherwise."""
    console = output.out
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveView(output, recorder)
    return PlainView(output, recorder)
