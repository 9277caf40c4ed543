# app.py
import sys
from typing import Any

import otpy
from otpy import Ok

from counter import Counter


class Saver(Counter):
    """A counter that reports its final count when the application stops."""

    trap_exits = True  # turn the supervisor's shutdown signal into a call to terminate

    async def terminate(self, reason: Any, count: int) -> None:
        print(f"saving count={count} ({reason})")


class Flaky(Counter):
    """A counter that crashes as soon as it has started."""

    async def init(self, start: int) -> Ok:
        otpy.cast(self.pid, "crash")
        return Ok(start)


if __name__ == "__main__":
    children: list[Any] = [Saver.child_spec(0, name="counter")]
    if "--flaky" in sys.argv:
        children.append(Flaky)
    otpy.run(children, strategy="one_for_one", max_restarts=3, max_seconds=5)
