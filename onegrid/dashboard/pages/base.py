"""What a page of the dashboard is: its path, who may open it, its layout and callbacks.

A page module defines one `PAGE = Page(...)`; `pages.PAGES` lists them (one
line per page). The shell (`app`) shows in the navigation the pages the
signed-in role may open, renders a page's `layout(ctx, actor, lang, path)`
when its path is visited, and calls every page's `register(app, ctx)` once.
A page's layout is built for one actor: what it shows is already scoped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dash import Dash

from onegrid.alerts.actors import Actor, Role

Layout = Callable[[Any, Actor, str, str], Any]  # (ctx, actor, lang, path) -> component
Register = Callable[[Dash, Any], None]  # (app, ctx) -> None


@dataclass(frozen=True)
class Page:
    """One page. `path` is matched exactly, or as a prefix when `prefix` is set
    (`/case/` + a case id). `nav` is its navigation label's i18n key (None: not
    in the navigation). `ids` lists every component id its callbacks use, so a
    test can check them against its layout."""

    key: str
    path: str
    roles: frozenset[Role]
    layout: Layout
    register: Register
    nav: str | None = None
    prefix: bool = False
    ids: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        """Return whether this page serves `path`."""
        return path.startswith(self.path) if self.prefix else path.rstrip("/") == self.path

    def allows(self, actor: Actor) -> bool:
        """Return whether the actor's role may open this page."""
        return actor.role in self.roles
