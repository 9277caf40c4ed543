"""A Griffe extension for the API reference: renders the reStructuredText our docstrings use.

otpy's and wsclient's docstrings are plain prose in a small subset of reST, which mkdocstrings
would otherwise print as Markdown, marks and all. Before the docstrings are rendered, this turns

- a role (``:class:`~otpy.NoProcess```, ``:func:`start_link```) into inline code, and into a
  link when it names a public object of the package (``otpy.X``, ``wsclient.X``, or a bare
  ``X`` that is in the package's ``__all__``);
- a literal block (a paragraph ending in ``::``, then an indented block) into a fenced block;
- a ``#:`` comment above an attribute into that attribute's docstring, as Sphinx reads it;
- a simple table (``====  ====`` borders) into a fenced text block laid out in columns, with the
  reST code marks taken out (its rows are kept as written: the tables put several callbacks'
  names in one cell's rows, which a Markdown table cannot say).

The source files are not changed. Loaded by mkdocs.yml (``extensions:`` of the python handler).
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|mod|exc|data|obj):`(~?)([\w.]+)`")
_BORDER = re.compile(r"^\s*=+(?: +=+)+\s*$")
_PACKAGES = ("wsclient.testing", "wsclient", "otpy")
# public functions that share their name with a module of the package: Griffe sees the module
# under the package's name, so the reference renders them from where they are defined
_SHADOWED = {"otpy.run": "otpy.run.run", "wsclient.stats": "wsclient.client.stats"}


def _public() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for package in _PACKAGES:
        module = importlib.import_module(package)
        names[package] = set(getattr(module, "__all__", ()))
    return names


class RstDocstrings(griffe.Extension):
    """Rewrite each docstring of the loaded packages from reST to Markdown."""

    def __init__(self) -> None:
        super().__init__()
        self._public = _public()

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None and obj.is_attribute:
            comment = _doc_comment(obj)
            if comment:
                obj.docstring = griffe.Docstring(comment, parent=obj)
        if obj.docstring is not None:
            root = obj.path.split(".", 1)[0]
            obj.docstring.value = self.convert(obj.docstring.value, root)

    def convert(self, text: str, root: str) -> str:
        lines = _tables(text.splitlines())
        lines = _literal_blocks(lines)
        out = []
        fenced = False
        for line in lines:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced:
                line = _ROLE.sub(lambda m: self._role(m, root), line)
            out.append(line)
        return "\n".join(out)

    def _role(self, match: re.Match[str], root: str) -> str:
        tilde, target = match.groups()
        shown = target.rsplit(".", 1)[-1] if tilde else target
        path = self._resolve(target, root)
        return f"[`{shown}`][{path}]" if path else f"`{shown}`"

    def _resolve(self, target: str, root: str) -> str | None:
        """The path of a public object named by `target`, or None: link only what is rendered."""
        for package in _PACKAGES:
            if target.startswith(package + "."):
                first = target[len(package) + 1 :].split(".", 1)[0]
                return _SHADOWED.get(target, target) if first in self._public[package] else None
        if target.split(".", 1)[0] in self._public.get(root, ()):
            path = f"{root}.{target}"
            return _SHADOWED.get(path, path)
        return None


@functools.cache
def _source(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def _doc_comment(obj: griffe.Object) -> str | None:
    """The ``#:`` comment lines just above an attribute, as Sphinx reads them."""
    if obj.lineno is None or not isinstance(obj.filepath, Path):
        return None
    lines = _source(obj.filepath)
    found: list[str] = []
    i = obj.lineno - 2
    while 0 <= i < len(lines) and lines[i].lstrip().startswith("#:"):
        found.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    return "\n".join(found) or None


def _tables(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        border = lines[i]
        j = i + 1
        borders = 1
        while j < len(lines) and borders < 3:
            if lines[j] == border:
                borders += 1
            j += 1
        if borders < 3:  # not a table we understand: leave it as it is
            out.append(lines[i])
            i += 1
            continue
        out.extend(_layout(border, lines[i + 1 : j - 1]))
        i = j
    return out


def _layout(border: str, rows: list[str]) -> list[str]:
    starts = [m.start() for m in re.finditer(r"=+", border)]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    cells: list[list[str] | None] = []
    for row in rows:
        if row == border:
            cells.append(None)  # the rule under the header
            continue
        cells.append([row[a:b].strip().replace("``", "") for a, b in bounds])
    widths = [max(len(c[k]) for c in cells if c is not None) for k in range(len(starts))]
    text = ["```text"]
    for cell in cells:
        if cell is None:
            text.append("  ".join("-" * w for w in widths))
        else:
            text.append("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
    text.append("```")
    return ["", *text, ""]


def _language(code: list[str]) -> str:
    try:
        ast.parse("\n".join(code))
    except SyntaxError:
        return "text"
    return "python"


def _literal_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.rstrip().endswith("::") or line.lstrip().startswith("```"):
            out.append(line)
            i += 1
            continue
        intro = line.rstrip()[:-2].rstrip()
        if intro:
            out.append(intro + ":")
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        indent = min(len(b) - len(b.lstrip()) for b in block if b.strip()) if block else 0
        code = [b[indent:] for b in block]
        out.extend(["", "```" + _language(code), *code, "```", ""])
    return out
