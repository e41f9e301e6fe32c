"""The overview app against a real store file: callbacks called with plain values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from h3.api import basic_int as h3i

from onegrid.dashboard import app as dashboard_app
from onegrid.dashboard import create_app, ids
from onegrid.geo.cells import cells_to_parents, latlng_to_cells
from onegrid.geo.regions import Regions, cells_to_regions, load_regions
from onegrid.geo.registry import load_registry
from onegrid.geo.store import Store, insert_dead_letters, insert_events

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def events_table(regions: Regions, lats: Sequence[float], lngs: Sequence[float],
                 ts: Sequence[datetime], prefix: str = "e") -> pa.Table:
    """Return incident events at these points and times, placed on the grid like the engine."""
    lat, lng = np.asarray(lats, dtype=float), np.asarray(lngs, dtype=float)
    cells = latlng_to_cells(lat, lng)
    parents = cells_to_parents(cells)
    places = cells_to_regions(regions, cells)
    n = len(cells)
    return pa.table({
        "id": [f"{prefix}{i}" for i in range(n)], "topic": ["incident"] * n,
        "ts": pa.array(list(ts), pa.timestamp("us", tz="UTC")), "lat": lat, "lng": lng,
        "cell": cells, "cell_r9": parents[9], "cell_r8": parents[8], "cell_r7": parents[7],
        **{col: pa.array(values.tolist(), pa.string()) for col, values in places.items()},
        "category": ["road_damage"] * n, "source": ["patrol"] * n,
        "severity": pa.array([2] * n, pa.int8()),
        # The store folds every batch into cell_stats, which reads the measurement columns too.
        "metric": pa.nulls(n, pa.string()), "value": pa.nulls(n, pa.float64()),
        **{col: pa.nulls(n, pa.float64()) for col in ("pm25", "pm10", "no2", "so2", "o3", "co")},
    })


def random_events(regions: Regions, n: int, now: datetime, *, span: timedelta,
                  seed: int = 1, prefix: str = "e") -> pa.Table:
    """Return `n` events spread over the city's bounds and the `span` before `now`."""
    rng = np.random.default_rng(seed)
    west, south, east, north = regions.districts.total_bounds
    # Draw spare points and keep those inside the city, as real reports would be.
    lat, lng = rng.uniform(south, north, 3 * n), rng.uniform(west, east, 3 * n)
    inside = cells_to_regions(regions, latlng_to_cells(lat, lng))["grid_id"] != None  # noqa: E711
    lat, lng = lat[inside][:n], lng[inside][:n]
    offsets = rng.uniform(0, span.total_seconds(), len(lat))
    return events_table(regions, lat, lng,
                        [now - timedelta(seconds=float(s)) for s in offsets], prefix)


def dead_letters(n: int) -> pa.Table:
    """Return `n` rejected messages."""
    return pa.table({"topic": ["onegrid.incident"] * n, "partition": pa.array([0] * n, pa.int32()),
                     "offset": list(range(n)), "error_code": ["E_SCHEMA"] * n,
                     "reason": ["missing field: id"] * n, "payload": [b"{}"] * n})


@pytest.fixture(scope="module")
def regions() -> Regions:
    return load_regions()


@pytest.fixture(scope="module")
def registry():
    return load_registry()


# Where the fixture's events happen: a busy corner near People's Square and one far north.
SQUARE = (31.2304, 121.4737)
NORTH = (31.30, 121.50)


@pytest.fixture
def filled_store(store: Store, regions) -> Store:
    """A store with 5 events in the last 10 min, 4 more an hour or two ago, 3 a day ago."""
    recent = events_table(regions, [SQUARE[0]] * 4 + [NORTH[0]], [SQUARE[1]] * 4 + [NORTH[1]],
                          [NOW - timedelta(minutes=m) for m in (1, 2, 3, 9, 5)], "r")
    hours = events_table(regions, [SQUARE[0]] * 4, [SQUARE[1]] * 4,
                         [NOW - timedelta(minutes=m) for m in (20, 50, 70, 110)], "h")
    old = events_table(regions, [NORTH[0]] * 3, [NORTH[1]] * 3,
                       [NOW - timedelta(hours=30)] * 3, "o")
    for table in (recent, hours, old):
        store.write(lambda cur, t=table: insert_events(cur, t))
    store.write(lambda cur: insert_dead_letters(cur, dead_letters(2)))
    return store


@pytest.fixture
def page(filled_store, regions, registry) -> dashboard_app.OverviewPage:
    return dashboard_app.OverviewPage(filled_store, regions, registry, clock=lambda: NOW)


def _trace_values(patch) -> dict:
    """Return {property: value} that a figure Patch sets on trace 0."""
    return {tuple(op["location"][2:]): op["params"]["value"]
            for op in patch.to_plotly_json()["operations"] if op["operation"] == "Assign"}


def _layout_ids(component) -> set[str]:
    found = set()
    if getattr(component, "id", None):
        found.add(component.id)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if hasattr(child, "to_plotly_json"):
            found |= _layout_ids(child)
    return found


def test_every_component_id_a_callback_uses_is_in_the_layout(filled_store, regions, registry):
    app = create_app(filled_store, regions, registry)
    used = set()
    for callback in app._callback_list:
        used |= {dep["id"] for dep in callback["inputs"] + callback["state"]}
        used |= {part.split(".")[0] for part in callback["output"].strip(".").split("...")}
    layout_ids = _layout_ids(app.layout)
    assert used <= layout_ids
    assert {ids.MAP, ids.STATUS, ids.TICK, ids.LANGUAGE, ids.WINDOW} <= used


@pytest.mark.parametrize(("window", "total"), [(15, 5), (60, 7), (1440, 9)])
def test_map_counts_the_events_of_the_chosen_window(page, window, total):
    patch, digest, error = page.refresh_map(0, window, {"res": 7, "bbox": None}, "zh", None)
    trace = _trace_values(patch)
    assert error == ""
    assert sum(trace[("z",)]) == total
    assert [f["id"] for f in trace[("geojson",)]["features"]] == trace[("locations",)]
    assert all(h3i.get_resolution(h3i.str_to_int(c)) == 7 for c in trace[("locations",)])
    assert digest.startswith("7:")


def test_zooming_in_counts_by_the_finer_stored_column(page):
    corners = [[121.46, 31.24], [121.49, 31.24], [121.49, 31.22], [121.46, 31.22]]
    view = page.follow_zoom({"map.zoom": 14.2, "map._derived": {"coordinates": corners}})
    assert view["res"] == 10
    patch, _, _ = page.refresh_map(0, 60, view, "zh", None)
    trace = _trace_values(patch)
    # Only the square's cell is in view; the northern events are left out.
    assert trace[("locations",)] == [h3i.int_to_str(h3i.latlng_to_cell(*SQUARE, 10))]
    assert trace[("z",)] == [6]


def test_a_relayout_without_zoom_leaves_the_view_alone(page):
    assert page.follow_zoom({"autosize": True}) is dashboard_app.no_update


def test_same_cells_next_tick_send_numbers_only(page):
    view = {"res": 8, "bbox": None}
    first, digest, _ = page.refresh_map(0, 60, view, "zh", None)
    second, again, _ = page.refresh_map(1, 60, view, "zh", digest)
    assert again == digest
    assert ("geojson",) in _trace_values(first)
    assert ("geojson",) not in _trace_values(second)
    assert _trace_values(second)[("z",)] == _trace_values(first)[("z",)]


def test_empty_store_draws_an_empty_layer(store, regions, registry):
    page = dashboard_app.OverviewPage(store, regions, registry, clock=lambda: NOW)
    patch, _, error = page.refresh_map(0, 60, None, None, None)
    trace = _trace_values(patch)
    assert error == ""
    assert trace[("locations",)] == [] and trace[("z",)] == []
    assert trace[("geojson",)] == {"type": "FeatureCollection", "features": []}


def test_status_shows_events_dead_letters_and_the_last_minute(filled_store, regions, registry):
    # ingested_at is the store's wall clock, so this page uses the real one.
    page = dashboard_app.OverviewPage(filled_store, regions, registry)
    cards = page.refresh_status(0, "en")
    values = {card.children[0].children: card.children[1].children for card in cards}
    assert values["Events stored"] == "12"
    assert values["Dead letters"] == "2"
    assert values["Stored in the last minute"] == "12"


def test_language_switch_gives_the_english_title_and_city(page, registry):
    title, city, label, options = page.switch_language("en")
    assert (title, city, label) == ("City overview", registry.name_en, "Time range")
    assert options[0]["label"] == "Last 15 min"
    assert page.switch_language("zh")[0] == "城运总览"


def test_a_failing_read_shows_a_short_message_not_a_traceback(page, caplog):
    patch, digest, error = page.refresh_map(0, 60, {"res": 5, "bbox": None}, "en", None)
    assert patch is dashboard_app.no_update and digest is dashboard_app.no_update
    assert error == "The data cannot be read just now; retrying automatically."
    assert "Traceback" not in error
    assert "refresh_map failed" in caplog.text


def test_a_closed_store_shows_the_message_in_the_status_strip(tmp_path, regions, registry):
    broken = Store(tmp_path / "gone.duckdb")
    page = dashboard_app.OverviewPage(broken, regions, registry)
    broken.close()
    cards = page.refresh_status(0, "zh")
    assert cards[0].children == "数据暂时无法读取，稍后自动重试。"


def test_app_serves_its_page_without_debug_tools(filled_store, regions, registry):
    app = create_app(filled_store, regions, registry, tile_url="https://t.example/{z}/{x}/{y}.png")
    assert app._dev_tools.ui is False
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_json()
    assert ids.MAP in str(layout)
    assert "https://t.example/{z}/{x}/{y}.png" in str(layout)
