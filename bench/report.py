"""Write the benchmark report: the figures the benchmarks kept, as one markdown page.

``make bench`` runs every benchmark with ``BENCH_RESULTS`` set, so that each writes its figures
to a JSON file of that directory (see ``bench/_results.py``), then::

    python bench/report.py RESULTS_DIR docs/topics/benchmarks.md

The page depends on the files alone (no clock, no machine is read here), and its layout is
fixed: the scripts in the order ``make bench`` runs them, then any other in name order; the
groups in the order their first figure was kept, the figures in the order they were kept.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: The scripts in the order ``make bench`` runs them; others follow in name order.
ORDER = ("bench_genserver", "bench_supervisor", "bench_ws", "bench_scale")

#: The environment table: (key in the results files, the row's label), in this order.
ENVIRONMENT = (
    ("cpu", "CPU"),
    ("cores", "cores"),
    ("ram", "RAM"),
    ("os", "OS"),
    ("kernel", "kernel"),
    ("python", "Python"),
    ("aiohttp", "aiohttp"),
    ("websockets", "websockets"),
    ("uvloop", "uvloop"),
    ("otpy", "otpy"),
)

COLUMNS = ("figure", "loop", "value", "baseline", "ratio", "target")

INTRO = """\
Every figure that `make bench` prints, from its last run, next to the baseline it was measured
against **in the same run**: raw asyncio for otpy (the least asyncio needs to do the same job),
and for websocket traffic raw aiohttp (the baseline) and the `websockets` package's client (a
peer). Where a benchmark runs rounds (`bench_genserver.py`, `bench_ws.py`), the rounds of a
figure and of its baseline are interleaved, so that drifts in the machine's load hit both alike,
and the ratio is that of their medians; the other benchmarks measure once. Each ratio is the
figure over its baseline, and says which way is better. Absolute figures depend on the machine
below; the ratios much less. What the figures mean and how they are measured:
[Performance](performance.md). Regenerate this page with `make bench`."""


def load(directory: Path) -> list[dict[str, Any]]:
    """The results files of `directory`, in the report's order."""

    def key(path: Path) -> tuple[int, str]:
        stem = path.stem
        return (ORDER.index(stem) if stem in ORDER else len(ORDER), stem)

    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"), key=key)]


# -- formatting -----------------------------------------------------------------------------------


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def number(value: float) -> str:
    """About three significant digits, thousands separated; integers as they are."""
    if isinstance(value, int) or (abs(value) >= 1000):
        return f"{value:,.0f}"
    size = abs(value)
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def quantity(value: float, unit: str) -> str:
    if not unit:
        return number(value)
    return f"{number(value)}{'' if unit == '%' else ' '}{unit}"


#: A target as the scripts print it: ">= 0.65x", "aim >= 0.9x", "<= 30 s", "== 0".
_TARGET = re.compile(
    r"^(?:(?P<word>[a-z]+)\s+)?(?P<op>>=|<=|==)\s*(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>.*)$"
)
_SYMBOL = {">=": "≥", "<=": "≤", "==": "="}


def target_cell(target: str, value: float, unit: str, ratio: float | None) -> str:
    """The target as printed, made readable, and whether this run met it where that can be
    told: a target in ``x`` applies to the ratio as shown (two decimals, as the scripts print
    it), any other to the value (in its unit)."""
    m = _TARGET.match(target.strip())
    if m is None:
        return cell(target)
    op, bound, t_unit = m["op"], float(m["num"]), m["unit"].strip()
    shown = f"{m['word'] + ' ' if m['word'] else ''}{_SYMBOL[op]} {m['num']}"
    shown += t_unit if t_unit == "x" else (f" {t_unit}" if t_unit else "")
    if t_unit == "x":
        actual = None if ratio is None else round(ratio, 2)
    elif t_unit in ("", unit):
        actual = value
    else:
        actual = None
    if actual is None:
        return cell(shown)
    met = {">=": actual >= bound, "<=": actual <= bound, "==": actual == bound}[op]
    return cell(f"{shown}: {'met' if met else '**not met**'}")


def row(rec: dict[str, Any]) -> str:
    value, unit = rec["value"], rec.get("unit", "")
    baseline = ""
    if rec.get("baseline") is not None:
        baseline = quantity(rec["baseline"], unit)
    if rec.get("baseline_label"):
        baseline = f"{baseline} ({rec['baseline_label']})" if baseline else rec["baseline_label"]
    ratio = ""
    if rec.get("ratio") is not None:
        ratio = f"{rec['ratio']:.2f}x"
        if rec.get("better"):
            ratio += f" ({rec['better']} is better)"
    target = ""
    if rec.get("target"):
        target = target_cell(rec["target"], value, unit, rec.get("ratio"))
    cells = (rec["figure"], rec.get("loop") or "", quantity(value, unit), baseline, ratio, target)
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def wrap(text: str) -> str:
    return textwrap.fill(text, 99, break_long_words=False, break_on_hyphens=False)


def when(stamp: str) -> datetime.datetime:
    t = datetime.datetime.fromisoformat(stamp)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.UTC)
    return t.astimezone(datetime.UTC)


def first_seen(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# -- the page -------------------------------------------------------------------------------------


def environment_rows(results: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    envs = [(r.get("script", "?"), r.get("environment") or {}) for r in results]
    keys = [k for k, _ in ENVIRONMENT]
    labels = dict(ENVIRONMENT)
    keys += sorted({k for _, e in envs for k in e} - set(keys))
    rows = []
    for k in keys:
        # the files should agree; where they do not (a commit made during the run), every value
        # is shown, in the files' order, with the scripts that saw it
        seen: dict[str, list[str]] = {}
        for script, e in envs:
            if k in e:
                seen.setdefault(str(e[k]), []).append(script)
        if len(seen) > 1:
            text = "; ".join(f"{v} for {', '.join(s)}" for v, s in seen.items())
        else:
            text = next(iter(seen), "unknown")
        rows.append((labels.get(k, k), text))
    loops = first_seen(rec.get("loop") or "" for r in results for rec in r.get("records", []))
    rows.append(("event loops measured", ", ".join(loops) or "unknown"))
    spans = [
        (r.get("script", "?"), when(r["started"]), when(r["finished"]))
        for r in results
        if r.get("started") and r.get("finished")
    ]
    if spans:
        start = min(s for _, s, _ in spans)
        end = max(e for _, _, e in spans)
        rows.append(
            (
                "date and time (UTC)",
                f"{start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S}",
            )
        )
        each = ", ".join(f"{name} {(e - s).total_seconds():.0f} s" for name, s, e in spans)
        rows.append(("run time", f"{(end - start).total_seconds():.0f} s ({each})"))
    return rows


def render(results: Sequence[dict[str, Any]]) -> str:
    """The markdown page of `results` (the parsed results files, in the report's order)."""
    out = ["# Benchmark report", "", INTRO, "", "## Environment", ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {cell(k)} | {cell(v)} |" for k, v in environment_rows(results)]
    groups: dict[str, list[dict[str, Any]]] = {}
    about: dict[str, str] = {}
    for r in results:
        for name, text in (r.get("groups") or {}).items():
            about.setdefault(name, text)
        for rec in r.get("records", []):
            groups.setdefault(rec["group"], []).append(rec)
    for name, recs in groups.items():
        out += ["", f"## {name}", ""]
        if about.get(name):
            out += [wrap(about[name]), ""]
        out.append("| " + " | ".join(COLUMNS) + " |")
        out.append("|" + "---|" * len(COLUMNS))
        out += [row(rec) for rec in recs]
        # a note said of a figure on several loops is given once
        notes = dict.fromkeys((rec["figure"], rec["note"]) for rec in recs if rec.get("note"))
        if notes:
            out += ["", "Notes:", ""]
            out += [f"- {cell(figure)}: {cell(note)}" for figure, note in notes]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("results", type=Path, help="the directory of the results files")
    ap.add_argument("out", type=Path, help="the markdown page to write")
    args = ap.parse_args(argv)
    results = load(args.results)
    if not results:
        print(f"report.py: no results files (*.json) in {args.results}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results))
    count = sum(len(r.get("records", [])) for r in results)
    print(f"report.py: {count} figures from {len(results)} files -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
