"""Fenced code blocks of a markdown page: what the docs tests run.

A block is a fence of three or more backticks or tildes, possibly indented (inside a list, an
admonition or a content tab), whose info string's first word is the language. It ends at a fence
of the same character, at least as long, with no info string. A fence inside another block (a
``markdown`` block showing a ``python`` one) is content of the outer block, not a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The languages whose blocks are runnable Python examples.
PYTHON = frozenset({"python", "py"})

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_SNIPPET = re.compile(r"""^\s*-{1,}8<-{1,}\s*["'](?P<path>[^"']+)["']\s*$""")


@dataclass(frozen=True)
class Block:
    """One fenced block: its page, the line of its opening fence (1-based), language, source."""

    path: str
    line: int
    lang: str
    source: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def snippets(self) -> list[str]:
        """The files a block includes with pymdownx.snippets (``--8<-- "docs/examples/x.py"``),
        if the block is made of nothing else; else an empty list."""
        lines = [ln for ln in self.source.splitlines() if ln.strip()]
        found = [m.group("path") for m in map(_SNIPPET.match, lines) if m is not None]
        return found if found and len(found) == len(lines) else []


def _language(info: str) -> str:
    word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    word = word.lstrip("{").lstrip(".").rstrip("}")  # {.python} style
    return word.lower()


def blocks(text: str, path: str) -> list[Block]:
    """Every fenced block of the markdown `text`, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if m is None:
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info")
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        found.append(Block(path, i + 1, _language(info), "\n".join(body) + "\n"))
        i = j + 1
    return found


def python_blocks(file: Path, root: Path) -> list[Block]:
    """The blocks of `file` tagged ``python`` or ``py``, with paths relative to `root`."""
    rel = file.relative_to(root).as_posix()
    return [b for b in blocks(file.read_text(encoding="utf-8"), rel) if b.lang in PYTHON]
