"""Component ids of the dashboard, namespaced per page.

Every id a layout declares or a callback reads lives here, so that a test can
check that each id a page's callbacks use is in its layout, and so that a
browser test can find components without repeating strings. Ids of the city
overview page start with `overview-`.
"""

from __future__ import annotations

from typing import Final

_PAGE: Final = "overview"

TITLE: Final = f"{_PAGE}-title"
SUBTITLE: Final = f"{_PAGE}-subtitle"
LANGUAGE: Final = f"{_PAGE}-language"
WINDOW: Final = f"{_PAGE}-window"
WINDOW_LABEL: Final = f"{_PAGE}-window-label"
MAP: Final = f"{_PAGE}-map"
VIEW: Final = f"{_PAGE}-view"
DRAWN: Final = f"{_PAGE}-drawn"
TICK: Final = f"{_PAGE}-tick"
STATUS: Final = f"{_PAGE}-status"
MAP_ERROR: Final = f"{_PAGE}-map-error"
