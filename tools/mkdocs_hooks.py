"""MkDocs hooks (mkdocs.yml ``hooks:``): the generated API reference must be complete.

Each page of docstrings lists its names one by one, in an order chosen for reading. So that a
name added to a package's ``__all__`` cannot be left out of the site, the build fails when one
of those pages has no entry for a name of its package.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from mkdocs.exceptions import PluginError

# page (relative to docs/) -> the packages whose __all__ it documents
PAGES = {
    "reference/api-otpy.md": ("otpy",),
    "reference/api-wsclient.md": ("wsclient",),
    "reference/api-wsclient-testing.md": ("wsclient.testing",),
    "reference/api-otpy-observer.md": ("otpy.observer",),
}
# public functions that share their name with a module of the package: Griffe sees the module
# under that name, so the page renders the function from the module that defines it
SHADOWED = {
    "otpy.run": "otpy.run.run",
    "wsclient.stats": "wsclient.client.stats",
    "otpy.observer.snapshot": "otpy.observer.snapshot.snapshot",
}

_ID = re.compile(r'\bid="([^"]+)"')


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    packages = PAGES.get(page.file.src_uri)
    if packages:
        ids = set(_ID.findall(html))
        missing = [
            path
            for package in packages
            for path in _public_paths(package)
            if SHADOWED.get(path, path) not in ids
        ]
        if missing:
            raise PluginError(
                f"{page.file.src_uri} has no entry for {', '.join(missing)}: add a "
                f"'::: <path>' line for each (see the page's sections)"
            )
    return html


def _public_paths(package: str) -> list[str]:
    module = importlib.import_module(package)
    return [f"{package}.{name}" for name in getattr(module, "__all__", ())]
