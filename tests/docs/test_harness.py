"""The docs harness itself: which blocks it finds, and how it runs and reports them."""

from __future__ import annotations

from typing import Any

import pytest

import otpy
from tests.docs.blocks import Block, blocks
from tests.docs.test_examples import ExampleFailed, _run_page

PAGE = """\
# A page

```python
x = 1
```

- in a list:

    ```py title="two.py"
    y = x + 1
    ```

````markdown
```python
not = a block of the page
```
````

```text
not python
```

```py
--8<-- "docs/examples/counter.py"
```
"""


def test_blocks_are_found_with_their_language_line_and_dedented_source() -> None:
    found = blocks(PAGE, "page.md")
    assert [(b.lang, b.line) for b in found] == [
        ("python", 3),
        ("py", 9),
        ("markdown", 13),
        ("text", 19),
        ("py", 23),
    ]
    assert found[1].source == "y = x + 1\n"
    assert found[1].where == "page.md:9"


def test_a_block_of_includes_only_is_a_snippet_block() -> None:
    found = blocks(PAGE, "page.md")
    assert found[4].snippets == ["docs/examples/counter.py"]
    assert found[0].snippets == []
    mixed = Block("p.md", 1, "python", '--8<-- "docs/examples/a.py"\nprint(1)\n')
    assert mixed.snippets == []


def _page(*sources: str) -> list[Block]:
    return [Block("page.md", 10 * n, "python", s) for n, s in enumerate(sources, 1)]


async def test_blocks_share_a_namespace_and_may_await() -> None:
    await _run_page(
        _page(
            "import asyncio\nimport otpy\nseen = []",
            "await asyncio.sleep(0)\nseen.append(__name__)",
            "assert seen == ['docs_example'], seen",
        )
    )


async def test_a_failing_block_is_reported_by_page_line_and_block() -> None:
    with pytest.raises(ExampleFailed) as info:
        await _run_page(_page("x = 1", "x = 1\nraise ValueError('the example is wrong')"))
    message = str(info.value)
    assert message.startswith("page.md:20 (python block 2 of 2) raised:")
    assert 'File "page.md:20", line 2' in message
    assert "ValueError: the example is wrong" in message


async def test_a_crash_of_a_linked_process_fails_the_page() -> None:
    crash = """
import otpy

async def boom():
    raise RuntimeError("boom")

otpy.spawn_link(boom)
await otpy.receive()
"""
    with pytest.raises(ExampleFailed, match=r"page\.md:10 .* raised"):
        await _run_page(_page(crash))


async def test_processes_left_running_are_killed() -> None:
    ns: dict[str, Any] = {}
    await _run_page(_page("import asyncio, otpy\npid = otpy.spawn(asyncio.Event().wait)"), ns)
    assert not otpy.is_alive(ns["pid"])
