"""bench/report.py on synthetic results files, and bench/_results.py writing them.

Nothing here runs a benchmark or looks at a time.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

ENVIRONMENT = {
    "cpu": "Test CPU 9000",
    "cores": "2 logical CPUs",
    "ram": "1.0 GiB",
    "os": "TestOS 1",
    "kernel": "Linux 6.0-test (x86_64)",
    "python": "CPython 3.11.0",
    "aiohttp": "3.14.0",
    "websockets": "17.0",
    "uvloop": "0.23.0",
    "otpy": "0.1.0 (git abc1234)",
}


def load(name: str) -> ModuleType:
    """A module of bench/ (not a package) by its path."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = load("report")
results = load("_results")


def write(directory: Path, script: str, records: list[dict[str, Any]], **extra: Any) -> None:
    data = {
        "script": script,
        "started": "2026-01-02T03:04:05+00:00",
        "finished": "2026-01-02T03:04:35+00:00",
        "environment": ENVIRONMENT,
        "groups": {},
        "records": records,
    }
    data.update(extra)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{script}.json").write_text(json.dumps(data))


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    # written in the wrong order on purpose: the report orders the scripts as make bench runs them
    write(
        out,
        "bench_ws",
        [
            {
                "group": "Websocket traffic",
                "figure": "echo round trip 64 B, wsclient vs raw aiohttp",
                "value": 15000.4,
                "unit": "round trips/s",
                "baseline": 20000.0,
                "baseline_label": "raw aiohttp",
                "ratio": 0.75002,
                "better": "higher",
                "loop": "uvloop",
            }
        ],
        started="2026-01-02T03:05:00+00:00",
        finished="2026-01-02T03:06:00+00:00",
    )
    write(
        out,
        "bench_genserver",
        [
            {
                "group": "GenServer and mailbox",
                "figure": "otpy.call",
                "value": 150000.0,
                "unit": "round trips/s",
                "baseline": 200000.0,
                "baseline_label": "raw asyncio floor",
                "ratio": 0.75,
                "better": "higher",
                "target": ">= 0.65x",
                "loop": "asyncio",
            },
            {
                "group": "GenServer and mailbox",
                "figure": "otpy.cast | piped",
                "value": 1000000,
                "unit": "messages/s",
                "baseline": 2500000,
                "ratio": 0.4,
                "better": "higher",
                "target": ">= 0.5x",
                "loop": "asyncio",
                "note": "a note on the cast",
            },
            {
                "group": "Supervisor",
                "figure": "restart latency, median",
                "value": 59.123,
                "unit": "µs",
                "target": "<= 100 us",
                "loop": "asyncio",
            },
        ],
        groups={"GenServer and mailbox": "What the genserver group is."},
    )
    return out


def page(results_dir: Path, tmp_path: Path) -> str:
    out = tmp_path / "docs" / "benchmarks.md"
    assert report.main([str(results_dir), str(out)]) == 0
    return out.read_text()


def table_rows(md: str) -> list[list[str]]:
    """The cells of every table row of `md`, header and rule rows left out."""
    rows = []
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| figure |") and line != "| | |":
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_rows_have_value_baseline_ratio_and_target(synthetic: Path, tmp_path: Path) -> None:
    md = page(synthetic, tmp_path)
    assert md.startswith("# Benchmark report\n")
    assert "(performance.md)" in md and "make bench" in md
    assert "| figure | loop | value | baseline | ratio | target |" in md
    rows = {r[0]: r for r in table_rows(md)}
    assert rows["otpy.call"] == [
        "otpy.call",
        "asyncio",
        "150,000 round trips/s",
        "200,000 round trips/s (raw asyncio floor)",
        "0.75x (higher is better)",
        "≥ 0.65x: met",
    ]
    cast = rows["otpy.cast \\| piped"]  # a | in a figure does not split the row
    assert cast[2:] == [
        "1,000,000 messages/s",
        "2,500,000 messages/s",
        "0.40x (higher is better)",
        "≥ 0.5x: **not met**",
    ]
    ws = rows["echo round trip 64 B, wsclient vs raw aiohttp"]
    assert ws[1:5] == [
        "uvloop",
        "15,000 round trips/s",
        "20,000 round trips/s (raw aiohttp)",
        "0.75x (higher is better)",
    ]
    latency = rows["restart latency, median"]
    assert latency[2:] == ["59.1 µs", "", "", "≤ 100 us"]  # another unit: shown, not judged
    assert "- otpy.cast \\| piped: a note on the cast" in md
    assert "What the genserver group is." in md


def test_layout_groups_in_run_order(synthetic: Path, tmp_path: Path) -> None:
    md = page(synthetic, tmp_path)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Environment",
        "## GenServer and mailbox",
        "## Supervisor",
        "## Websocket traffic",
    ]
    assert page(synthetic, tmp_path / "again") == md  # same files, same page


def test_environment_lines(synthetic: Path, tmp_path: Path) -> None:
    md = page(synthetic, tmp_path)
    env = {r[0]: r[1] for r in table_rows(md) if len(r) == 2}
    assert env["CPU"] == "Test CPU 9000"
    assert env["cores"] == "2 logical CPUs"
    assert env["RAM"] == "1.0 GiB"
    assert env["OS"] == "TestOS 1"
    assert env["kernel"] == "Linux 6.0-test (x86_64)"
    assert env["Python"] == "CPython 3.11.0"
    assert env["aiohttp"] == "3.14.0"
    assert env["websockets"] == "17.0"
    assert env["uvloop"] == "0.23.0"
    assert env["otpy"] == "0.1.0 (git abc1234)"
    assert env["event loops measured"] == "asyncio, uvloop"
    assert env["date and time (UTC)"] == "2026-01-02 03:04:05 to 2026-01-02 03:06:00"
    assert env["run time"] == "115 s (bench_genserver 30 s, bench_ws 60 s)"


def test_no_results_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out.md"
    assert report.main([str(tmp_path), str(out)]) == 2
    assert not out.exists()


def test_record_writes_what_report_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results.record("G", "unkept", 1.0, "s")  # BENCH_RESULTS unset: nothing is written
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "kept"))
    results.describe("G", "About G.")
    results.record("G", "f", 2.5, "s", baseline=5.0, baseline_label="b", ratio=0.5,
                   better="lower", target="<= 1x", loop="asyncio", note="n")  # fmt: skip
    (kept,) = (tmp_path / "kept").glob("*.json")
    data = json.loads(kept.read_text())
    assert data["groups"] == {"G": "About G."}
    assert data["records"] == [
        {
            "group": "G",
            "figure": "f",
            "value": 2.5,
            "unit": "s",
            "baseline": 5.0,
            "baseline_label": "b",
            "ratio": 0.5,
            "better": "lower",
            "target": "<= 1x",
            "loop": "asyncio",
            "note": "n",
        }
    ]
    assert data["environment"]["python"].endswith(".".join(map(str, sys.version_info[:3])))
    assert set(ENVIRONMENT) <= set(data["environment"])
    rows = table_rows(page(tmp_path / "kept", tmp_path))
    assert ["f", "asyncio", "2.50 s", "5.00 s (b)", "0.50x (lower is better)", "≤ 1x: met"] in rows


def test_environments_that_differ_say_which_script_saw_what(tmp_path: Path) -> None:
    rec = {"group": "G", "figure": "f", "value": 1.0, "unit": "s", "loop": "asyncio"}
    later = dict(ENVIRONMENT, otpy="0.1.0 (git def5678)")
    write(tmp_path / "r", "bench_genserver", [rec])
    write(tmp_path / "r", "bench_scale", [rec], environment=later)
    env = {r[0]: r[1] for r in table_rows(page(tmp_path / "r", tmp_path)) if len(r) == 2}
    assert env["otpy"] == (
        "0.1.0 (git abc1234) for bench_genserver; 0.1.0 (git def5678) for bench_scale"
    )
    assert env["CPU"] == "Test CPU 9000"
