"""The restart table of DESIGN.md section 5: exit reason x restart type -> restarted or not.

Each case starts a one-child supervisor, tells the child to exit with one reason, waits for the
child's exact Down, then checks what the supervisor did: a restarted child reports a new init
and its new pid answers a call; a child that is not restarted shows no pid (spec kept) or is gone
from which_children (spec removed), and no init is reported.
"""

from __future__ import annotations

import pytest

import otpy
from otpy import Supervisor
from otpy.supervisor import count_children

from .supervision_support import assert_no_events, children, die, started, worker

ALL = ["normal", "shutdown", "shutdown_term", "crash", "killed"]
ORDERLY = ["normal", "shutdown", "shutdown_term"]
ABNORMAL = ["crash", "killed"]


async def _one_child(restart: str) -> tuple[otpy.Pid, otpy.Pid]:
    sup = await Supervisor.start_link([worker("w", restart=restart)], max_seconds=3600)
    assert sup is not None
    pid = await started("w")
    return sup, pid


@pytest.mark.parametrize("kind", ALL)
async def test_permanent_child_is_restarted_whatever_the_exit_reason(kind: str) -> None:
    sup, pid = await _one_child("permanent")

    await die(pid, kind)

    new = await started("w")
    assert new != pid
    assert await otpy.call(new, "id") == "w"
    info = (await children(sup))["w"]
    assert (info.pid, info.status, info.restarts) == (new, "running", 1)
    await otpy.stop(sup)


@pytest.mark.parametrize("kind", ABNORMAL)
async def test_transient_child_is_restarted_after_an_abnormal_exit(kind: str) -> None:
    sup, pid = await _one_child("transient")

    await die(pid, kind)

    new = await started("w")
    assert new != pid
    assert await otpy.call(new, "id") == "w"
    assert (await children(sup))["w"].pid == new
    await otpy.stop(sup)


@pytest.mark.parametrize("kind", ORDERLY)
async def test_transient_child_is_not_restarted_after_an_orderly_exit_and_its_spec_is_kept(
    kind: str,
) -> None:
    sup, pid = await _one_child("transient")

    await die(pid, kind)

    info = (await children(sup))["w"]  # answered after the supervisor handled the exit
    assert (info.pid, info.status, info.restarts) == (None, "undefined", 0)
    await assert_no_events()
    counts = await count_children(sup)
    assert (counts.specs, counts.active) == (1, 0)
    await otpy.stop(sup)


@pytest.mark.parametrize("kind", ALL)
async def test_temporary_child_is_never_restarted_and_its_spec_is_removed(kind: str) -> None:
    sup, pid = await _one_child("temporary")

    await die(pid, kind)

    assert await children(sup) == {}
    await assert_no_events()
    counts = await count_children(sup)
    assert (counts.specs, counts.active) == (0, 0)
    await otpy.stop(sup)


async def test_restarted_child_gets_the_same_start_arguments() -> None:
    sup, pid = await _one_child("permanent")
    await die(pid, "crash")
    new = await started("w")
    # the Opts it was started with are those of the spec: same id, same report address
    assert await otpy.call(new, "id") == "w"
    await die(new, "killed")
    assert await otpy.call(await started("w"), "id") == "w"
    assert (await children(sup))["w"].restarts == 2
    await otpy.stop(sup)
