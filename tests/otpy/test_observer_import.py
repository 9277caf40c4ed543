"""otpy.observer is reached as an attribute of otpy, and only it imports aiohttp."""

from __future__ import annotations

import asyncio
import sys

from .support import GUARD


async def test_import_otpy_does_not_import_aiohttp_and_otpy_observer_is_an_attribute() -> None:
    code = (
        "import sys, otpy, otpy.supervisor, otpy.registry\n"
        "assert 'aiohttp' not in sys.modules\n"
        "assert 'observer' in dir(otpy) and 'aiohttp' not in sys.modules\n"
        "assert otpy.observer.Observer.__name__ == 'Observer'\n"
        "assert 'aiohttp' in sys.modules\n"
        "try:\n"
        "    otpy.no_such_name\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_name' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    assert await asyncio.wait_for(proc.wait(), GUARD) == 0
