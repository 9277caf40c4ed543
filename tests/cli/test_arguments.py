"""Bad arguments: one line saying what is wrong, a hint to --help, exit status 2."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from .support import GUARD

_URL = "ws://127.0.0.1/"
CASES = {
    "no command argument": (["connect"], "the following arguments are required: URL"),
    "http scheme": (["connect", "http://127.0.0.1/"], "the scheme must be ws or wss"),
    "no host": (["connect", "ws:///path"], "no host"),
    "ping interval not a number": (
        ["connect", _URL, "--ping-interval", "soon"],
        "expected seconds",
    ),
    "negative ping interval": (["connect", _URL, "--ping-interval", "-1"], "expected seconds"),
    "header without a colon": (["connect", _URL, "--header", "X-Token"], "a header is NAME:VALUE"),
    "bad header name": (["connect", _URL, "--header", "X Y: z"], "is not a header name"),
    "unknown option": (["connect", _URL, "--colour"], "unrecognized arguments: --colour"),
    "port out of range": (["serve", "--port", "70000"], "a port is 0 to 65535"),
    "unknown mode": (["serve", "--mode", "chat"], "invalid choice: 'chat'"),
    "zero interval": (["serve", "--interval", "0"], "expected seconds > 0"),
    "unknown command": (["dance"], "invalid choice: 'dance'"),
    "credentials twice": (
        ["connect", "ws://u:p@127.0.0.1/", "-H", "Authorization: Basic x"],
        "give the credentials once",
    ),
    "bad subprotocol": (["connect", _URL, "--subprotocol", "a b"], "subprotocol"),
    "empty host": (["serve", "--host", ""], "expected an address or a host name"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_arguments_exit_2_with_one_error_line_and_a_usage_hint(cli, case: str) -> None:
    args, fragment = CASES[case]
    c = await cli(*args)
    assert await c.wait() == 2
    assert c.out.lines == []
    error, hint = c.err.lines
    assert fragment in error and ": error: " in error, error
    assert error.startswith("wsclient")
    assert hint.startswith("Try 'wsclient") and hint.endswith("--help' for usage."), hint


async def test_a_bad_url_error_never_shows_the_password(cli) -> None:
    c = await cli("connect", "http://user:hunter2@127.0.0.1/")
    assert await c.wait() == 2
    assert "hunter2" not in c.err.text
    assert "the scheme must be ws or wss" in c.err.text


async def test_a_bad_header_error_never_shows_its_value(cli) -> None:
    c = await cli("connect", "ws://127.0.0.1/", "--header", "Authorization=Bearer s3cr3t")
    assert await c.wait() == 2
    assert "s3cr3t" not in c.err.text


async def test_help_lists_the_commands_and_exits_0(cli) -> None:
    c = await cli("--help")
    assert await c.wait() == 0
    for command in ("connect", "serve", "demo"):
        assert command in c.out.text


async def test_the_console_script_is_installed_next_to_python() -> None:
    script = Path(sys.executable).parent / "wsclient"
    proc = await asyncio.create_subprocess_exec(
        str(script), "--help", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), GUARD)
    assert proc.returncode == 0
    assert b"connect" in out and b"demo" in out


async def test_import_otpy_and_wsclient_work_without_rich() -> None:
    # rich is for the command line only. structlog imports rich by itself when it is installed
    # (for its tracebacks), so the check hides rich: the libraries must import and run without
    # it, and never load the command line's package.
    code = (
        "import sys\n"
        "class NoRich:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'rich' or name.startswith('rich.'):\n"
        "            raise ImportError('rich is hidden')\n"
        "sys.meta_path.insert(0, NoRich())\n"
        "import otpy, otpy.supervisor, wsclient, wsclient.testing\n"
        "assert not [m for m in sys.modules if m == 'rich' or m.startswith('rich.')]\n"
        "assert 'wsclient._cli' not in sys.modules\n"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    assert await asyncio.wait_for(proc.wait(), GUARD) == 0
