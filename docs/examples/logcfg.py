# logcfg.py
import asyncio
import logging
import sys
from typing import Any

import structlog

import otpy
from otpy import Down, GenServer, Supervisor

QUIET = {"child_started", "child_terminated", "supervisor_shutdown"}


def drop_quiet_otpy_events(logger: Any, method_name: str, event_dict: Any) -> Any:
    if logger.name == "otpy" and event_dict["event"] in QUIET:
        raise structlog.DropEvent
    return event_dict


def configure_logging() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(message)s")
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            drop_quiet_otpy_events,
            structlog.stdlib.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class Crashy(GenServer):
    async def handle_cast(self, request: Any, state: Any) -> Any:
        raise RuntimeError("boom")


async def main() -> None:
    sup = await Supervisor.start_link([Crashy.child_spec(None, name="crashy")])
    ref = otpy.monitor("crashy")
    otpy.cast("crashy", "go")
    await otpy.receive(match=lambda m: type(m) is Down and m.ref == ref)
    await otpy.supervisor.which_children(sup)
    await otpy.stop(sup)


if __name__ == "__main__":
    configure_logging()
    asyncio.run(main())
