"""Placeholder for the case page, replaced by its real module (work in progress)."""

from __future__ import annotations

from dash import html

from onegrid.alerts.actors import Role
from onegrid.dashboard.pages.base import Page


def layout(ctx, actor, lang: str, path: str):
    """Return the page."""
    return html.Div("case", className="og-empty")


def register(app, ctx) -> None:
    """Attach the page's callbacks."""


PAGE = Page("case", "/case/",
            frozenset(Role),
            layout, register, nav=None, prefix=True)
