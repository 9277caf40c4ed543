"""The Ticker behaviour of docs/howto/writing-a-behaviour.md, loaded from docs/examples/: one
copy, so that the page shows exactly what tests/otpy/test_behaviour.py tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ticker_behaviour.py"
_spec = importlib.util.spec_from_file_location("docs_examples_ticker_behaviour", _PATH)
assert _spec is not None and _spec.loader is not None, _PATH
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module  # dataclasses look their module up while the file runs
_spec.loader.exec_module(_module)

Halt = _module.Halt
Tick = _module.Tick
Ticker = _module.Ticker
ticks = _module.ticks

__all__ = ["Halt", "Tick", "Ticker", "ticks"]
