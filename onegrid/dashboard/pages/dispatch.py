"""Placeholder for the dispatch page, replaced by its real module (work in progress)."""

from __future__ import annotations

from dash import html

from onegrid.alerts.actors import Role
from onegrid.dashboard.pages.base import Page


def layout(ctx, actor, lang: str, path: str):
    """Return the page."""
    return html.Div("dispatch", className="og-empty")


def register(app, ctx) -> None:
    """Attach the page's callbacks."""


PAGE = Page("dispatch", "/dispatch",
            frozenset({Role.COMMAND, Role.DEPARTMENT, Role.SUPERVISOR}),
            layout, register, nav="nav_dispatch")
