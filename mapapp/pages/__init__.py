"""Pages of the map app: one small module per page, each with ``render(ctx)``.

:data:`PAGES` lists them in menu order as ``(page id, label id of mapapp.i18n, module name)``;
``app.py`` imports a page's module only when it is shown.
"""

from __future__ import annotations

import importlib
import logging

from mapapp.pages._common import Ctx

__all__ = ["PAGES", "Ctx", "render"]

logger = logging.getLogger(__name__)

#: (page id, label id, module of mapapp.pages) in menu order.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("overview", "page.overview", "overview"),
    ("pv", "page.pv", "pv_siting"),
    ("inspector", "page.inspector", "inspector"),
    ("wind", "page.wind", "wind"),
    ("sinks", "page.sinks", "sinks"),
    ("charging", "page.charging", "charging"),
)


def render(page_id: str, ctx: Ctx) -> None:
    """Render page ``page_id`` (one of :data:`PAGES`; anything else shows the overview)."""
    module = {p: m for p, _, m in PAGES}.get(page_id, "overview")
    importlib.import_module(f"mapapp.pages.{module}").render(ctx)
