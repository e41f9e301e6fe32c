"""A patrol report from the phone (巡查上报): where I am, what I found, what it became.

The browser's geolocation gives the place (the page asks for it through a
clientside callback); when it is denied or unavailable, the centre of the
worker's grid (a grid chief's community) stands in, and the page says so.
Everything the page sends is checked here again, since a posted callback
can carry anything: the category must be in the catalogue, the severity 1-4,
the location finite and on the globe, the photo one this node saved. The
report goes to `onegrid.incident` with source `patrol`, keyed by the worker's
actor id, through `ctx.sender.report`; the engine takes it in like any
report. `report_status` then reads which case it opened or joined (scoped:
a case outside the worker's grid is not shown).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from onegrid.alerts.actors import Actor
from onegrid.alerts.cases import CaseError
from onegrid.dashboard import media
from onegrid.dashboard.actions import Refusal
from onegrid.dashboard.components import command_status
from onegrid.dashboard.queries import worker as reads
from onegrid.dashboard.views.format import category_name, region_name
from onegrid.dashboard.views.worker import W, case_heading, region_label
from onegrid.geo.cells import latlng_to_cells
from onegrid.geo.regions import cells_to_regions
from onegrid.streams.sender import BadMessage, SendFailed

MAX_DESCRIPTION: Final = 4000  # the contract's ShortText
MAX_ADDRESS: Final = 500


def fix_of(location: Mapping[str, Any] | None) -> tuple[float, float, float | None] | None:
    """Return (lat, lng, accuracy in m) of a browser fix, or None when there is no usable one."""
    if not isinstance(location, Mapping):
        return None
    try:
        lat, lng = float(location["lat"]), float(location["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90
            and -180 <= lng <= 180):
        return None
    acc = location.get("accuracy")
    return lat, lng, float(acc) if isinstance(acc, int | float) and math.isfinite(acc) else None


def home_centre(regions, actor: Actor) -> tuple[float, float]:
    """Return (lat, lng) of a point at the centre of the actor's grid (chief: community);
    the polygon's centroid, or a point surely inside it when the centroid falls outside."""
    level = "community" if actor.is_chief else "grid"
    shape = regions.levels[level].geometry[actor.region_id]
    point = shape.centroid
    if not shape.contains(point):
        point = shape.representative_point()
    return round(point.y, 6), round(point.x, 6)


def grid_at(regions, lat: float, lng: float) -> str | None:
    """Return the id of the grid a point lies in, or None outside the city."""
    cells = latlng_to_cells(np.array([lat]), np.array([lng]))
    found = cells_to_regions(regions, cells)["grid_id"][0]
    return str(found) if found else None


def location_text(ctx, actor: Actor, location: Mapping[str, Any] | None, lang: str) -> str:
    """Return the location line: the fix and its grid, or which centre will stand in."""
    if location is None:
        return W(lang, "locating")
    fix = fix_of(location)
    home = region_label(ctx.regions, actor, lang)
    if fix is None:
        denied = isinstance(location, Mapping) and location.get("error") == "denied"
        return W(lang, "no_fix_denied" if denied else "no_fix", where=home)
    lat, lng, acc = fix
    grid = grid_at(ctx.regions, lat, lng)
    if grid is None:
        return W(lang, "located_outside", lat=f"{lat:.5f}", lng=f"{lng:.5f}")
    grids = ctx.regions.levels["grid"]
    mine = grid == actor.region_id or (actor.is_chief
                                       and grids.at[grid, "parent_id"] == actor.region_id)
    name = region_name(ctx.regions, "grid", grid, lang)
    return W(lang, "located", lat=f"{lat:.5f}", lng=f"{lng:.5f}",
             acc=f"{acc:.0f}" if acc is not None else "?",
             where=name + ("" if mine else W(lang, "not_mine")))


def report_fields(ctx, actor: Actor, category: str | None, description: str | None,
                  severity: Any, address: str | None, photo: str | None,
                  location: Mapping[str, Any] | None) -> tuple[dict | None, Refusal | None]:
    """Return (the incident message's fields, None), or (None, why it cannot be sent).

    A refusal's code is the engine's (shown with its `code_*` words) or, for
    what only this form checks, one of the page's `report_*` words.
    """
    if ctx.sender is None:
        return None, Refusal("read_only", "this node has no Kafka connection")
    if not category:
        return None, Refusal("report_needs_category", "")
    if category not in ctx.registry.categories:
        return None, Refusal(CaseError.UNKNOWN_CATEGORY, f"{category!r} is not in the catalogue")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        return None, Refusal("report_too_long", "")
    fix = fix_of(location)
    lat, lng = fix[:2] if fix else home_centre(ctx.regions, actor)
    sev = severity if isinstance(severity, int) and 1 <= severity <= 4 else \
        ctx.registry.categories[category].default_severity
    return {"category": category, "source": "patrol", "description": description or None,
            "severity": sev, "address": (address or "").strip()[:MAX_ADDRESS] or None,
            "lat": lat, "lng": lng,
            "photo_url": media.photo_url(ctx.media_dir, photo),
            "reporter": {"name": actor.name, "phone": actor.phone or None}}, None


def send_report(ctx, actor: Actor, lang: str, category: str | None, description: str | None,
                severity: Any, address: str | None, photo: str | None,
                location: Mapping[str, Any] | None) -> tuple[dict | None, str, str]:
    """Send a patrol report; return (what to keep waiting for, status text, css class)."""
    fields, why = report_fields(ctx, actor, category, description, severity, address, photo,
                                location)
    if why is not None:
        words = W(lang, why.code) if why.code.startswith("report_") else \
            command_status.refusal_text(lang, why)
        return None, words, "og-status-line og-refused"
    try:
        report_id = ctx.sender.report(fields, source_id=actor.actor_id)
    except (BadMessage, SendFailed) as exc:
        return None, command_status.failure_text(lang, str(exc)), "og-status-line og-refused"
    sent = {"report_id": report_id, "sent_at": ctx.clock().timestamp(), "category": category,
            "lat": fields["lat"], "lng": fields["lng"], "centre": fix_of(location) is None}
    return sent, _sent_text(ctx, sent, lang), "og-status-line"


def report_status(ctx, actor: Actor, lang: str, sent: Mapping[str, Any] | None
                  ) -> tuple[str, str, dict | None]:
    """Return (text, css class, what to keep waiting for) for a sent report: the case
    it opened or joined once the engine has taken it in."""
    if not sent or not isinstance(sent.get("report_id"), str):
        return "", "og-status-line", None
    case = reads.report_case(ctx.store, ctx.scope(actor), sent["report_id"])
    if case is not None:
        title = case_heading(case, ctx.registry, lang)
        key = "report_opened" if case["opened"] else "report_joined"
        return W(lang, key, case=case["case_id"], title=title), \
            "og-status-line og-applied", None
    waited = ctx.clock().timestamp() - float(sent.get("sent_at") or 0)
    if waited > command_status.WAIT_S:
        return W(lang, "report_no_answer", id=sent["report_id"]), "og-status-line", None
    return _sent_text(ctx, sent, lang), "og-status-line", dict(sent)


def _sent_text(ctx, sent: Mapping[str, Any], lang: str) -> str:
    try:
        lat, lng = f"{float(sent['lat']):.5f}", f"{float(sent['lng']):.5f}"
    except (KeyError, TypeError, ValueError):
        lat = lng = "?"
    words = W(lang, "report_sent", id=sent["report_id"], lat=lat, lng=lng,
              category=category_name(ctx.registry, sent.get("category"), lang))
    return words + (W(lang, "at_centre") if sent.get("centre") else "")


__all__ = ["fix_of", "grid_at", "home_centre", "location_text", "report_fields",
           "report_status", "send_report"]
