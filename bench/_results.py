"""The figures of a benchmark script, kept for ``bench/report.py``.

Each script calls :func:`record` once per figure it prints. Nothing happens unless the
environment variable ``BENCH_RESULTS`` names a directory (``make bench`` sets it): then each call
appends the figure to ``$BENCH_RESULTS/<script>.json``, with the machine and the versions the
script ran on::

    {"script": "bench_genserver", "started": "...", "finished": "...",
     "environment": {"cpu": ..., "python": ..., ...},
     "groups": {"<group>": "<what its ratios mean>"},
     "records": [{"group": ..., "figure": ..., "value": ..., "unit": ..., ...}, ...]}

Times are UTC, ISO 8601. ``started`` is when the script imported this module, ``finished`` the
time of its last figure. Writing is a read, an append and an atomic replace of a small file, done
between measurements, never inside one.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

ENV_VAR = "BENCH_RESULTS"
HERE = Path(__file__).resolve().parent
#: The distributions whose versions a report states ("not installed" when absent).
PACKAGES = ("aiohttp", "websockets", "uvloop", "otpy")
#: What a benchmark's figures depend on in the tree: the packages and the benchmarks.
MEASURED = (":/otpy", ":/wsclient", ":/bench")

Better = Literal["higher", "lower"]


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


_STARTED = utc_now()
_environment: dict[str, str] | None = None


def _first_line(path: str, prefix: str) -> str | None:
    """The rest of the first line of `path` that starts with `prefix`, stripped."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line[len(prefix) :].strip()
    except OSError:
        pass
    return None


def _cpu() -> str:
    model = _first_line("/proc/cpuinfo", "model name")
    if model is not None:
        return model.lstrip(":").strip()
    return platform.processor() or platform.machine() or "unknown"


def _cores() -> str:
    logical = os.cpu_count() or 0
    physical = _first_line("/proc/cpuinfo", "cpu cores")
    text = f"{logical} logical CPUs"
    if physical is not None:
        text += f" ({physical.lstrip(':').strip()} cores per socket)"
    return text


def _ram() -> str:
    total = _first_line("/proc/meminfo", "MemTotal:")
    if total is None or not total.endswith("kB"):
        return "unknown"
    return f"{int(total.split()[0]) / 1024**2:.1f} GiB"


def _os() -> str:
    name = _first_line("/etc/os-release", "PRETTY_NAME=")
    return name.strip('"') if name else platform.system()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _otpy() -> str:
    text = _version("otpy")
    commit = _git("rev-parse", "--short", "HEAD")
    if commit:
        # changes elsewhere in the tree do not change what is measured
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", *MEASURED)
        text += f" (git {commit}{', with uncommitted changes' if dirty else ''})"
    return text


def environment() -> dict[str, str]:
    """The machine, the system and the versions this process runs on (computed once)."""
    global _environment
    if _environment is None:
        env = {
            "cpu": _cpu(),
            "cores": _cores(),
            "ram": _ram(),
            "os": _os(),
            "kernel": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "python": f"{platform.python_implementation()} {platform.python_version()}",
        }
        for dist in PACKAGES:
            env[dist] = _otpy() if dist == "otpy" else _version(dist)
        _environment = env
    return dict(_environment)


def _script() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv else "")
    return Path(path).stem or "bench"


def _update(change: Any) -> None:
    """Apply `change` to this script's results file (creating it), if results are kept."""
    where = os.environ.get(ENV_VAR)
    if not where:
        return
    directory = Path(where)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_script()}.json"
    data: dict[str, Any]
    if path.exists():
        data = json.loads(path.read_text())
    else:
        data = {
            "script": _script(),
            "started": _STARTED,
            "environment": environment(),
            "groups": {},
            "records": [],
        }
    change(data)
    data["finished"] = utc_now()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)


def describe(group: str, text: str) -> None:
    """Say, once, what the figures of `group` are and what their ratios compare."""
    _update(lambda data: data["groups"].__setitem__(group, text))


def record(
    group: str,
    figure: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_label: str | None = None,
    ratio: float | None = None,
    target: str | None = None,
    loop: str | None = None,
    note: str | None = None,
    better: Better | None = None,
) -> None:
    """Keep one printed figure (a no-op unless ``BENCH_RESULTS`` is set).

    `value` is in `unit`, and so is `baseline` (what it is compared with, `baseline_label` says
    what that is); `ratio` is the ratio as the script prints it, and `better` says which way
    it is good. `target` is as printed, e.g. ``">= 0.65x"`` (on the ratio) or ``"<= 30 s"`` (on
    the value); `loop` is the event loop the figure was measured on.
    """
    entry: dict[str, Any] = {"group": group, "figure": figure, "value": value, "unit": unit}
    optional = {
        "baseline": baseline,
        "baseline_label": baseline_label,
        "ratio": ratio,
        "better": better,
        "target": target,
        "loop": loop,
        "note": note,
    }
    entry.update({k: v for k, v in optional.items() if v is not None})
    _update(lambda data: data["records"].append(entry))
