"""The pages of the dashboard, one module each; a new page is one module and one line here.

The order is the navigation's. Who may open each page is the page's `roles`;
what it shows inside is scoped again per actor (`access`).
"""

from onegrid.dashboard.pages import (
    case,
    command_map,
    dispatch,
    environment,
    grid_worker,
    supervision,
)
from onegrid.dashboard.pages.base import Page

PAGES: tuple[Page, ...] = (
    command_map.PAGE,
    dispatch.PAGE,
    case.PAGE,
    grid_worker.PAGE,
    environment.PAGE,
    supervision.PAGE,
)

__all__ = ["PAGES", "Page"]
