"""Benchmark: which map component draws a live H3 layer fastest in the browser.

For each layer size N (res-10 cells in a contiguous disk around central
Shanghai) and each candidate, serves a one-page Dash app on loopback, opens it
in headless Chromium (Debian's, no tiles, no network) and measures:

- first render: navigation start -> the polygons are drawn;
- update: one tick of new random values per cell, sent by a Dash callback that
  changes only the values, timed in the page with performance.now() from the
  moment the `/_dash-update-component` response arrives (a wrapped
  window.fetch) until drawing is finished; median of --repeats ticks after one
  warm-up tick. "round trip" is from the button click to drawn. "main thread"
  and "JS" are the renderer main thread's busy and JavaScript time over the
  same tick (CDP Performance metrics TaskDuration and ScriptDuration);
- bytes: the callback response (raw and gzipped), and the initial layout.

Candidates:

A   plotly  go.Choroplethmap in a dcc.Graph, style "white-bg"; the callback
    returns a dash.Patch setting only data[0].z. Drawn = plotly_afterplot and
    two animation frames; "idle" is MapLibre's first "idle" event after the
    response (new data painted), which usually comes before afterplot.
B   leaflet dash-leaflet dl.GeoJSON in a dl.Map without tiles (preferCanvas),
    styled by a JS function reading each cell's value from `hideout` (a dict
    cell id -> value); the callback changes only `hideout`. Drawn = the style
    function has run for all N features and two animation frames have passed.
    (dash-leaflet 1.1.3 answers a new hideout with clearLayers() + addData():
    every polygon is rebuilt, not restyled.)
B2  leaflet_list  as B, but hideout is {"v": [values in feature order]}, the
    feature's index in properties.i: no cell ids in each update.
C   scatter go.Scattermap, one marker per cell centre coloured by value; the
    Patch sets only data[0].marker.color. Drawn as for A.

Chromium runs with --disable-gpu, so WebGL (MapLibre, hence A and C) is
rasterised by SwiftShader on the CPU; Leaflet's canvas is 2D. Prints its
figures; it asserts nothing about time.

    python bench/map_components.py [--sizes 500 1000 2000 4000 10000] [--repeats 5]
        [--candidates plotly leaflet leaflet_list scatter] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, dcc, html
from h3.api import basic_int as h3i
from playwright.sync_api import Browser, CDPSession, Page, sync_playwright
from werkzeug.serving import make_server

try:
    import dash_leaflet as dl
except ImportError:  # pragma: no cover - reported, not fatal
    dl = None

CENTER: Final = (31.23, 121.47)  # lat, lng
RES: Final = 10
SIZES: Final = (500, 1000, 2000, 4000, 10000)
WIDTH, HEIGHT = 1000, 700  # map size in CSS px
VMAX: Final = 100  # values are ints in [0, VMAX)
CHROMIUM_ARGS: Final = ["--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--no-first-run"]
# YlOrRd, 9 steps: the same ramp for all candidates.
YLORRD: Final = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c",
                 "#fc4e2a", "#e31a1c", "#bd0026", "#800026"]
TIMEOUT_MS: Final = 60_000

# Served as an asset: the leaflet style function, which also timestamps its
# own calls so the page knows when all N features have been restyled.
ASSET_JS: Final = """
window.mapbench = (function () {
  var ramp = %(ramp)s, vmax = %(vmax)d;
  function colour(v) {
    if (v === undefined) { return "#cccccc"; }
    return ramp[Math.min(ramp.length - 1, Math.floor(v * ramp.length / vmax))];
  }
  function seen(h) {  // count style calls per hideout; after the last, wait two frames
    var B = window.__bench;
    if (!B) { return; }
    if (h !== B.hideout) { B.hideout = h; B.seen = 0; B.start = performance.now(); }
    if (++B.seen === B.n) {
      var entry = {start: B.start, built: performance.now()};
      B.raf2(function () {
        entry.end = performance.now();
        if (B.first === null) { B.first = entry; } else { B.done.push(entry); }
      });
    }
  }
  function look(v) {
    return {fillColor: colour(v), fillOpacity: 0.72, color: "#ffffff", weight: 0.4, opacity: 0.8};
  }
  return {
    style: function (feature, context) {  // hideout: {cell id: value}
      seen(context.hideout);
      return look(context.hideout[feature.id]);
    },
    styleList: function (feature, context) {  // hideout: {v: [value per feature index]}
      seen(context.hideout);
      return look(context.hideout.v[feature.properties.i]);
    }
  };
})();
"""

# Runs before the page's own scripts: wraps fetch and, for plotly, watches the
# graph for its first draw and for each redraw after a callback response.
INIT_JS: Final = """
(() => {
  const B = window.__bench = {n: %(n)d, kind: "%(kind)s", first: null, done: [], resp: [],
                              clicks: [], pending: false, hideout: undefined, lastIdle: -1};
  B.raf2 = (f) => requestAnimationFrame(() => requestAnimationFrame(f));
  const origFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : input.url;
    const p = origFetch.apply(this, arguments);
    if (url.includes("_dash-update-component")) {
      p.then(() => { B.resp.push(performance.now()); B.pending = true; });
    }
    return p;
  };
  if (B.kind.startsWith("leaflet")) { return; }
  const hasTrace = (m) => (m.getLayersOrder ? m.getLayersOrder() : Object.keys(m.style._layers))
    .some((id) => id.startsWith("plotly-trace-layer-"));
  const watch = () => {
    const gd = document.querySelector(".js-plotly-plot");
    const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    const m = sub && sub.map;
    if (!m || !m.style || !hasTrace(m) || !m.loaded()) { requestAnimationFrame(watch); return; }
    B.map = m;
    m.once("idle", () => { B.first = {end: performance.now()}; });
    m.triggerRepaint();
    // MapLibre usually goes idle (new data painted) before plotly emits afterplot.
    m.on("idle", () => { B.lastIdle = performance.now(); });
    gd.on("plotly_afterplot", () => {
      if (!B.pending) { return; }
      B.pending = false;
      const since = B.resp[B.resp.length - 1];
      const entry = {start: performance.now(), end: null,
                     idle: B.lastIdle > since ? B.lastIdle : null};
      const fin = () => { if (entry.end !== null && entry.idle !== null) B.done.push(entry); };
      B.raf2(() => { entry.end = performance.now(); fin(); });
      if (entry.idle === null) { m.once("idle", () => { entry.idle = performance.now(); fin(); }); }
    });
  };
  requestAnimationFrame(watch);
})();
"""


@dataclass
class Result:
    """One candidate at one size: times in ms, sizes in bytes."""

    candidate: str
    n: int
    first_ms: float = float("nan")
    update_ms: float = float("nan")  # response -> drawn (afterplot + 2 rAF, or leaflet 2 rAF)
    idle_ms: float = float("nan")  # response -> MapLibre idle (plotly only)
    round_trip_ms: float = float("nan")  # click -> drawn
    main_ms: float = float("nan")  # renderer main-thread busy time per update (CDP)
    script_ms: float = float("nan")  # of which running JavaScript
    update_bytes: int = 0
    update_gzip: int = 0
    layout_bytes: int = 0
    note: str = ""
    samples: list[float] = field(default_factory=list)


def cell_to_id(cell: int) -> str:
    """Return the H3 string id of a cell (the feature id the maps match on)."""
    return h3i.int_to_str(cell)


def counts_to_geojson(cells: Sequence[int]) -> dict[str, Any]:
    """Return a FeatureCollection of the cells' polygons, [lng, lat] to 6 decimals, id = H3 id.

    The same shape as onegrid.dashboard.views.counts_to_geojson (not imported, so
    the bench does not load the whole dashboard).
    """
    features = []
    for c in cells:
        ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3i.cell_to_boundary(c)]
        ring.append(ring[0])
        features.append({"type": "Feature", "id": cell_to_id(c), "properties": {},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def bounds_to_zoom(bounds: Sequence[float], width_px: int, height_px: int) -> float:
    """Return the MapLibre zoom (512 px tiles) at which (west, south, east, north) fits."""
    west, south, east, north = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    z_lng = math.log2(width_px * 360 / (512 * max(east - west, 1e-9)))
    z_lat = math.log2(height_px * 2 * math.pi / (512 * max(merc(north) - merc(south), 1e-9)))
    return round(min(z_lng, z_lat), 2)


def disk_cells(n: int, center: tuple[float, float] = CENTER, res: int = RES) -> list[int]:
    """Return the n cells nearest the centre cell (whole rings, then part of the last)."""
    origin = h3i.latlng_to_cell(center[0], center[1], res)
    k = 0
    while 3 * k * (k + 1) + 1 < n:
        k += 1
    cells = h3i.grid_disk(origin, k)
    cells.sort(key=lambda c: (h3i.grid_distance(origin, c), c))
    return cells[:n]


def tick_values(n: int, tick: int) -> list[int]:
    """Return n random ints in [0, VMAX), new for each tick."""
    rng = random.Random(tick)
    return [rng.randrange(VMAX) for _ in range(n)]


def view_of(cells: Sequence[int]) -> tuple[dict[str, float], float]:
    """Return the map centre {lat, lon} and MapLibre zoom that fit all cells."""
    pts = [p for c in cells for p in h3i.cell_to_boundary(c)]
    lats, lngs = [p[0] for p in pts], [p[1] for p in pts]
    zoom = bounds_to_zoom((min(lngs), min(lats), max(lngs), max(lats)), WIDTH, HEIGHT)
    return {"lat": (min(lats) + max(lats)) / 2, "lon": (min(lngs) + max(lngs)) / 2}, zoom


def _button() -> html.Button:
    return html.Button("tick", id="tick", n_clicks=0)


def _map_figure(trace: go.BaseTraceType, center: dict[str, float], zoom: float) -> go.Figure:
    fig = go.Figure(trace)
    fig.update_layout(map={"style": "white-bg", "center": center, "zoom": zoom},
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, uirevision="bench",
                      width=WIDTH, height=HEIGHT)
    return fig


def _graph(fig: go.Figure) -> dcc.Graph:
    return dcc.Graph(id="map", figure=fig, config={"displayModeBar": False},
                     style={"width": f"{WIDTH}px", "height": f"{HEIGHT}px"})


def build_plotly(app: Dash, cells: Sequence[int]) -> None:
    """A: Choroplethmap, Patch of data[0].z."""
    center, zoom = view_of(cells)
    ids = [cell_to_id(c) for c in cells]
    trace = go.Choroplethmap(
        geojson=counts_to_geojson(cells), locations=ids, z=tick_values(len(cells), 0),
        featureidkey="id", colorscale="YlOrRd", zmin=0, zmax=VMAX,
        marker={"opacity": 0.72, "line": {"width": 0.4, "color": "rgba(255,255,255,0.8)"}})
    app.layout = html.Div([_button(), _graph(_map_figure(trace, center, zoom))])

    @app.callback(Output("map", "figure"), Input("tick", "n_clicks"), prevent_initial_call=True)
    def update(n_clicks: int) -> Patch:
        patch = Patch()
        patch["data"][0]["z"] = tick_values(len(cells), n_clicks)
        return patch


def build_scatter(app: Dash, cells: Sequence[int]) -> None:
    """C: Scattermap markers at cell centres, Patch of data[0].marker.color."""
    center, zoom = view_of(cells)
    lat, lon = zip(*(h3i.cell_to_latlng(c) for c in cells), strict=True)
    trace = go.Scattermap(
        lat=[round(x, 6) for x in lat], lon=[round(x, 6) for x in lon], mode="markers",
        marker={"color": tick_values(len(cells), 0), "colorscale": "YlOrRd", "cmin": 0,
                "cmax": VMAX, "size": 6, "opacity": 0.8})
    app.layout = html.Div([_button(), _graph(_map_figure(trace, center, zoom))])

    @app.callback(Output("map", "figure"), Input("tick", "n_clicks"), prevent_initial_call=True)
    def update(n_clicks: int) -> Patch:
        patch = Patch()
        patch["data"][0]["marker"]["color"] = tick_values(len(cells), n_clicks)
        return patch


def _leaflet_map(layer: Any, cells: Sequence[int]) -> Any:
    center, zoom = view_of(cells)
    # Leaflet's zoom counts 256 px tiles, MapLibre's 512 px: one level apart.
    return dl.Map([layer], center=[center["lat"], center["lon"]], zoom=zoom + 1, zoomSnap=0,
                  preferCanvas=True, style={"width": f"{WIDTH}px", "height": f"{HEIGHT}px",
                                            "background": "#ffffff"})


def build_leaflet(app: Dash, cells: Sequence[int]) -> None:
    """B: dl.GeoJSON styled from hideout {cell id: value}; the callback sets hideout only."""
    ids = [cell_to_id(c) for c in cells]

    def hideout(tick: int) -> dict[str, int]:
        return dict(zip(ids, tick_values(len(cells), tick), strict=True))

    layer = dl.GeoJSON(id="cells", data=counts_to_geojson(cells), hideout=hideout(0),
                       style={"variable": "mapbench.style"})
    app.layout = html.Div([_button(), _leaflet_map(layer, cells)])

    @app.callback(Output("cells", "hideout"), Input("tick", "n_clicks"),
                  prevent_initial_call=True)
    def update(n_clicks: int) -> dict[str, int]:
        return hideout(n_clicks)


def build_leaflet_list(app: Dash, cells: Sequence[int]) -> None:
    """B2: as B, but hideout is {"v": [values]} in feature order (properties.i), no ids."""
    data = counts_to_geojson(cells)
    for i, feature in enumerate(data["features"]):
        feature["properties"]["i"] = i
    layer = dl.GeoJSON(id="cells", data=data, hideout={"v": tick_values(len(cells), 0)},
                       style={"variable": "mapbench.styleList"})
    app.layout = html.Div([_button(), _leaflet_map(layer, cells)])

    @app.callback(Output("cells", "hideout"), Input("tick", "n_clicks"),
                  prevent_initial_call=True)
    def update(n_clicks: int) -> dict[str, list[int]]:
        return {"v": tick_values(len(cells), n_clicks)}


BUILDERS: Final[dict[str, Callable[[Dash, Sequence[int]], None]]] = {
    "plotly": build_plotly, "leaflet": build_leaflet, "leaflet_list": build_leaflet_list,
    "scatter": build_scatter}
LABELS: Final = {"plotly": "A Choroplethmap", "leaflet": "B dl.GeoJSON",
                 "leaflet_list": "B2 dl.GeoJSON list", "scatter": "C Scattermap"}
LEAFLET: Final = ("leaflet", "leaflet_list")


def serve(app: Dash) -> tuple[str, Callable[[], None]]:
    """Serve `app` on a free loopback port; return its URL and a stop function."""
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}/", stop


def _busy_s(cdp: CDPSession) -> tuple[float, float]:
    """Return the renderer main thread's (busy, JS) time so far in s, from CDP metrics."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"], metrics["ScriptDuration"]


def _update_once(page: Page, count: int) -> bytes:
    """Click the tick button, wait until the page has drawn the update; return the response."""
    with page.expect_response(lambda r: "_dash-update-component" in r.url,
                              timeout=TIMEOUT_MS) as info:
        page.evaluate("() => { window.__bench.clicks.push(performance.now());"
                      " document.getElementById('tick').click(); }")
    body = info.value.body()
    page.wait_for_function(f"window.__bench.done.length > {count}", timeout=TIMEOUT_MS)
    return body


def _check_last(page: Page, kind: str, body: bytes) -> bool:
    """Return whether the page shows the values of the last response (first 20 cells)."""
    sent = json.loads(body)["response"]
    prop = next(iter(next(iter(sent.values())).values()))
    if kind == "leaflet":
        expect = dict(list(prop.items())[:20])
        got = page.evaluate("(keys) => keys.map((k) => window.__bench.hideout[k])",
                            list(expect))
        return got == list(expect.values())
    if kind == "leaflet_list":
        return page.evaluate("window.__bench.hideout.v.slice(0, 20)") == prop["v"][:20]
    # a Patch: {"__dash_patch_update": ..., "operations": [{"location": ..., "params": ...}]}
    want = prop["operations"][0]["params"]["value"][:20]
    path = "z" if kind == "plotly" else "marker.color"
    got = page.evaluate(
        "(path) => { const t = document.querySelector('.js-plotly-plot').data[0];"
        " const v = path.split('.').reduce((o, k) => o[k], t);"
        " return Array.from(v).slice(0, 20); }",
        path)
    return got == want


def run_one(browser: Browser, kind: str, n: int, repeats: int, assets: Path) -> Result:
    """Measure one candidate at one size in a fresh browser context."""
    result = Result(LABELS[kind], n)
    cells = disk_cells(n)
    app = Dash(f"mapbench_{kind}_{n}", assets_folder=str(assets), update_title=None)
    BUILDERS[kind](app, cells)
    url, stop = serve(app)
    context = browser.new_context(viewport={"width": WIDTH + 40, "height": HEIGHT + 80})
    errors: list[str] = []
    try:
        context.add_init_script(INIT_JS % {"n": n, "kind": kind})
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        with page.expect_response(lambda r: "_dash-layout" in r.url,
                                  timeout=TIMEOUT_MS) as layout:
            page.goto(url, timeout=TIMEOUT_MS)
        result.layout_bytes = len(layout.value.body())
        page.wait_for_function("window.__bench.first !== null", timeout=TIMEOUT_MS)
        result.first_ms = page.evaluate("window.__bench.first.end")
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        body, busy, script = b"", [], []
        for i in range(repeats + 1):  # the first tick warms up and is not counted
            time.sleep(0.3)
            task0, script0 = _busy_s(cdp)
            body = _update_once(page, i)
            task1, script1 = _busy_s(cdp)
            busy.append(1000 * (task1 - task0))
            script.append(1000 * (script1 - script0))
        result.main_ms = statistics.median(busy[1:])
        result.script_ms = statistics.median(script[1:])
        bench = page.evaluate("({done: window.__bench.done, resp: window.__bench.resp,"
                              " clicks: window.__bench.clicks})")
        done, resp, clicks = bench["done"][1:], bench["resp"][1:], bench["clicks"][1:]
        result.samples = [d["end"] - r for d, r in zip(done, resp, strict=True)]
        result.update_ms = statistics.median(result.samples)
        result.round_trip_ms = statistics.median(
            d["end"] - c for d, c in zip(done, clicks, strict=True))
        if kind not in LEAFLET:
            result.idle_ms = statistics.median(
                d["idle"] - r for d, r in zip(done, resp, strict=True))
        result.update_bytes, result.update_gzip = len(body), len(gzip.compress(body))
        if not _check_last(page, kind, body):
            result.note = "page does not show the last values!"
    except Exception as exc:  # a failed candidate is reported, not fatal
        result.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        context.close()
        stop()
    if errors:
        result.note = (result.note + " js errors: " + "; ".join(errors[:2])[:200]).strip()
    return result


def _fmt(x: float) -> str:
    return "-" if x != x else f"{x:,.0f}"


def print_table(results: Sequence[Result]) -> None:
    """Print the results as a Markdown table."""
    print("\n| candidate | N | first render ms | update ms | update ms (idle) "
          "| round trip ms | main thread ms | JS ms | update bytes | gzip | layout bytes | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r.candidate} | {r.n} | {_fmt(r.first_ms)} | {_fmt(r.update_ms)} "
              f"| {_fmt(r.idle_ms)} | {_fmt(r.round_trip_ms)} | {_fmt(r.main_ms)} "
              f"| {_fmt(r.script_ms)} "
              f"| {r.update_bytes:,} | {r.update_gzip:,} | {r.layout_bytes:,} | {r.note} |")


def main(argv: Sequence[str] | None = None) -> None:
    """Run every candidate at every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--candidates", nargs="+", choices=list(BUILDERS),
                        default=list(BUILDERS))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    kinds = list(args.candidates)
    if dl is None and set(kinds) & set(LEAFLET):
        print("dash-leaflet is not installed: skipping B and B2")
        kinds = [k for k in kinds if k not in LEAFLET]
    results: list[Result] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mapbench-") as tmp, sync_playwright() as p:
        assets = Path(tmp) / "assets"
        assets.mkdir()
        (assets / "mapbench.js").write_text(
            ASSET_JS % {"ramp": json.dumps(YLORRD), "vmax": VMAX}, encoding="utf-8")
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            for n in args.sizes:
                for kind in kinds:
                    r = run_one(browser, kind, n, args.repeats, assets)
                    print(f"{r.candidate:19} N={n:6}: first {_fmt(r.first_ms)} ms, update "
                          f"{_fmt(r.update_ms)} ms (samples "
                          f"{', '.join(f'{s:.0f}' for s in r.samples)}), "
                          f"{r.update_bytes:,} B {r.note}", flush=True)
                    results.append(r)
        finally:
            browser.close()
    print_table(results)
    print(f"\n{len(results)} runs in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
