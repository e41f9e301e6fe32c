"""The Dash app: the city overview page (城运总览), its callbacks, and serving it.

`create_app` builds one Dash app around a store, the city's regions and its
registry; nothing is global, so tests and `onegrid up` can run several. The
page is a live H3 map of event counts per cell plus a status strip. Callbacks
stay thin: read inputs, read the store (the two queries below), call one
function from `views`, return. Every callback is guarded: a failure is logged
and the page shows a short sentence, never a traceback. The dashboard only
reads the store.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from onegrid.dashboard import ids, views
from onegrid.dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGE_LABELS, LANGUAGES, text
from onegrid.geo.boundaries import boundaries_geojson
from onegrid.geo.regions import Regions
from onegrid.geo.registry import Registry
from onegrid.geo.store import Store

log = logging.getLogger(__name__)

# The busiest cells kept when a view would hold more; a screen cannot show more.
MAX_CELLS: Final = 5000
# level -> line style on the map; finer levels appear only once zoomed in.
_BOUNDARY_STYLES: Final = {
    "district": {"color": "#1f3a5f", "width": 2.0},
    "street": {"color": "#6b7a90", "width": 0.7, "minzoom": 11.5},
    "grid": {"color": "#a9b4c2", "width": 0.4, "minzoom": 14.0},
}
_CSS: Final = """
body { margin: 0; font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC",
       "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif;
       color: #1c2733; background: #f4f6f9; }
.og-header { display: flex; align-items: baseline; gap: 16px; padding: 10px 18px;
             background: #1f3a5f; color: #fff; }
.og-header h1 { margin: 0; font-size: 22px; }
.og-subtitle { font-size: 14px; opacity: 0.85; flex: 1; }
.og-header label { margin-left: 10px; font-size: 14px; cursor: pointer; }
.og-status { display: flex; gap: 10px; padding: 8px 18px; flex-wrap: wrap; }
.og-card { background: #fff; border-radius: 6px; padding: 6px 14px; min-width: 130px;
           box-shadow: 0 1px 2px rgba(0,0,0,0.08); }
.og-label { font-size: 12px; color: #5b6b7d; }
.og-value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.og-controls { padding: 0 18px 6px; font-size: 14px; }
.og-controls label { margin-left: 12px; cursor: pointer; }
.og-error { color: #a33; font-size: 14px; padding: 0 18px; }
.og-error:empty { display: none; }
.og-map { margin: 0 18px 12px; background: #fff; }
"""
_INDEX: Final = """<!DOCTYPE html>
<html lang="zh">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}<style>""" + _CSS + """</style></head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def create_app(store: Store, regions: Regions, registry: Registry, *, refresh_ms: int = 2000,
               tile_url: str | None = None,
               clock: Callable[[], datetime] | None = None) -> Dash:
    """Return the dashboard app reading `store`; the map refreshes every `refresh_ms`.

    `tile_url` (an XYZ template such as https://tiles.example/{z}/{x}/{y}.png)
    adds a raster base map; without it the page makes no external request.
    `clock` returns the current UTC time (tests fix it).
    """
    page = OverviewPage(store, regions, registry, tile_url=tile_url, clock=clock or _utc_now)
    app = Dash(__name__, title=text(DEFAULT_LANGUAGE, "title"), update_title=None,
               index_string=_INDEX)
    app.layout = page.layout(refresh_ms)
    page.register(app)
    return app


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _guard(fallback: Callable[..., Any]) -> Callable:
    """Wrap a callback so an exception is logged and `fallback(*args)` is returned instead."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def guarded(self, *args):
            try:
                return fn(self, *args)
            except Exception:
                log.exception("dashboard callback %s failed", fn.__name__)
                return fallback(*args)
        return guarded
    return wrap


def _map_failed(_tick, _window, _view, lang, _drawn):
    return no_update, no_update, text(lang, "error")


def _status_failed(_tick, lang):
    return [html.Div(text(lang, "error"), className="og-error")]


class OverviewPage:
    """The city overview: layout and callbacks over one store."""

    def __init__(self, store: Store, regions: Regions, registry: Registry, *,
                 tile_url: str | None = None, clock: Callable[[], datetime] = _utc_now):
        self.store = store
        self.regions = regions
        self.registry = registry
        self.tile_url = tile_url
        self.clock = clock
        # Fit the districts into a modest window; the user zooms from there.
        west, south, east, north = regions.districts.total_bounds
        self.center = ((south + north) / 2, (west + east) / 2)
        self.zoom = views.bounds_to_zoom((west, south, east, north), 1000, 560)

    def layout(self, refresh_ms: int) -> html.Div:
        """Return the page's component tree, in the default language."""
        lang = DEFAULT_LANGUAGE
        figure = views.counts_figure(
            center=self.center, zoom=self.zoom, lang=lang,
            boundaries=[(boundaries_geojson(self.regions, level), style)
                        for level, style in _BOUNDARY_STYLES.items()],
            tile_url=self.tile_url)
        languages = [{"label": LANGUAGE_LABELS[k], "value": k} for k in LANGUAGES]
        return html.Div([
            html.Div([html.H1(text(lang, "title"), id=ids.TITLE),
                      html.Span(self.registry.name_zh, id=ids.SUBTITLE, className="og-subtitle"),
                      dcc.RadioItems(languages, lang, id=ids.LANGUAGE, inline=True)],
                     className="og-header"),
            html.Div(id=ids.STATUS, className="og-status"),
            html.Div([html.Span(text(lang, "window"), id=ids.WINDOW_LABEL),
                      dcc.RadioItems(views.window_options(lang), views.DEFAULT_WINDOW_MIN,
                                     id=ids.WINDOW, inline=True,
                                     style={"display": "inline-block"})],
                     className="og-controls"),
            html.Div(id=ids.MAP_ERROR, className="og-error"),
            dcc.Graph(id=ids.MAP, figure=figure, className="og-map", responsive=True,
                      style={"height": "calc(100vh - 170px)", "minHeight": "420px"},
                      config={"scrollZoom": True, "displaylogo": False}),
            dcc.Store(id=ids.VIEW, data={"res": views.zoom_to_res(self.zoom), "bbox": None}),
            dcc.Store(id=ids.DRAWN),
            dcc.Interval(id=ids.TICK, interval=refresh_ms),
        ])

    def register(self, app: Dash) -> None:
        """Attach the page's callbacks to `app`."""
        app.callback(Output(ids.VIEW, "data"), Input(ids.MAP, "relayoutData"),
                     prevent_initial_call=True)(self.follow_zoom)
        app.callback(Output(ids.MAP, "figure"), Output(ids.DRAWN, "data"),
                     Output(ids.MAP_ERROR, "children"),
                     Input(ids.TICK, "n_intervals"), Input(ids.WINDOW, "value"),
                     Input(ids.VIEW, "data"), Input(ids.LANGUAGE, "value"),
                     State(ids.DRAWN, "data"))(self.refresh_map)
        app.callback(Output(ids.STATUS, "children"),
                     Input(ids.TICK, "n_intervals"), Input(ids.LANGUAGE, "value"))(
            self.refresh_status)
        app.callback(Output(ids.TITLE, "children"), Output(ids.SUBTITLE, "children"),
                     Output(ids.WINDOW_LABEL, "children"), Output(ids.WINDOW, "options"),
                     Input(ids.LANGUAGE, "value"))(self.switch_language)

    @_guard(lambda _relayout: no_update)
    def follow_zoom(self, relayout: dict[str, Any] | None):
        """Return the view (resolution and visible box) for a map relayout, or no_update."""
        view = views.relayout_to_view(relayout)
        return no_update if view is None else view

    @_guard(_map_failed)
    def refresh_map(self, _tick: int | None, window_min: int | None, view: dict[str, Any] | None,
                    lang: str | None, drawn: str | None):
        """Return (figure patch, digest of the cells drawn, error text) for this tick."""
        lang = lang or DEFAULT_LANGUAGE
        res = int((view or {}).get("res") or views.COARSEST_RES)
        window = window_min if window_min in views.WINDOWS_MIN else views.DEFAULT_WINDOW_MIN
        since = self.clock() - timedelta(minutes=window)
        cells, counts = read_counts(self.store, res, since, (view or {}).get("bbox"))
        digest = views.cells_digest(res, cells)
        update = views.counts_trace_update(cells, counts, with_geometry=digest != drawn)
        return views.trace_update_to_patch(update, lang), digest, ""

    @_guard(_status_failed)
    def refresh_status(self, _tick: int | None, lang: str | None):
        """Return the status strip's cards for now."""
        return views.status_strip(read_status(self.store, self.clock()), lang or DEFAULT_LANGUAGE)

    @_guard(lambda _lang: (no_update,) * 4)
    def switch_language(self, lang: str | None):
        """Return the title, city name, window label and window options in `lang`."""
        lang = lang or DEFAULT_LANGUAGE
        city = self.registry.name_en if lang == "en" else self.registry.name_zh
        return (text(lang, "title"), city, text(lang, "window"), views.window_options(lang))


# -- reads ---------------------------------------------------------------------
# TODO: move to a dashboard queries module (or geo/store reads) once a second
# page reads the store.

def read_counts(store: Store, res: int, since: datetime,
                bbox: list[float] | None = None) -> tuple[list[int], list[int]]:
    """Return (cells, counts) of events since `since` per cell at `res`, ordered by cell.

    Counts group by the stored parent column, so no H3 work happens per event.
    With `bbox` (west, south, east, north) only cells in that view are counted,
    whole; beyond MAX_CELLS the busiest cells are kept.
    """
    col = views.cell_column(res)
    sql = f"SELECT {col} AS cell, count(*) AS n FROM events WHERE ts >= ? AND {col} IS NOT NULL"
    params: list[Any] = [since]
    if bbox:
        west, south, east, north = views.padded_bbox(bbox, res)
        sql += " AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?"
        params += [south, north, west, east]
    sql += " GROUP BY 1 ORDER BY n DESC LIMIT ?"
    table = store.query(sql, [*params, MAX_CELLS])
    cells = table.column("cell").to_numpy()
    order = np.argsort(cells, kind="stable")
    counts = table.column("n").to_numpy()
    return cells[order].tolist(), counts[order].tolist()


def read_status(store: Store, now: datetime) -> views.Status:
    """Return the store's totals: events, dead letters, events stored in the minute before `now`."""
    row = store.query(
        "SELECT (SELECT count(*) FROM events) AS events, "
        "(SELECT count(*) FROM dead_letters) AS dead, "
        "(SELECT count(*) FROM events WHERE ingested_at >= ?) AS recent",
        [now - timedelta(minutes=1)]).to_pylist()[0]
    return views.Status(events=row["events"], dead_letters=row["dead"],
                        last_minute=row["recent"], as_of=now)


# -- serving -------------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    # The map polls every couple of seconds; one log line per request drowns the node's log.
    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class RunningServer:
    """A dashboard served on a background thread; `stop()` shuts it down."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_server(app: Dash, host: str = "127.0.0.1", port: int = 8050) -> RunningServer:
    """Serve `app` on a daemon thread (threaded WSGI, no debug); port 0 picks a free one."""
    server = make_server(host, port, app.server, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="onegrid-dashboard", daemon=True)
    thread.start()
    return RunningServer(f"http://{host}:{server.server_port}/", server, thread)


def serve(app: Dash, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve `app` in this thread until interrupted (for `onegrid serve`)."""
    server = make_server(host, port, app.server, threaded=True, request_handler=_QuietHandler)
    try:
        server.serve_forever()
    finally:
        server.server_close()
