"""The command map's callbacks, called with plain values over the demo day."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from dash import no_update
from h3.api import basic_int as h3i

from onegrid.dashboard.pages import command_map as page
from onegrid.dashboard.queries import alerts as alert_reads
from onegrid.dashboard.queries import overview as reads
from tests.dashboard.conftest import DEMO_END
from tests.streams.kafka_helpers import consume_all

CITY_VIEW = {"res": 7, "zoom": 10.5, "bbox": None}


def layout_ids(component) -> set[str]:
    """Return every string id in a layout tree."""
    found, todo = set(), [component]
    while todo:
        c = todo.pop()
        if isinstance(getattr(c, "id", None), str):
            found.add(c.id)
        for name in ("children",):
            kids = getattr(c, name, None)
            todo += kids if isinstance(kids, list) else [kids] if kids is not None else []
        for tab in getattr(c, "children", None) or [] if hasattr(c, "value") else []:
            todo.append(tab)
    return found


def test_every_id_the_callbacks_use_is_in_the_layout(dash_ctx, actor):
    found = layout_ids(page.layout(dash_ctx, actor("CC-01"), "zh", "/map"))
    assert set(page.IDS) <= found, set(page.IDS) - found


def test_the_first_tick_sends_polygons_and_the_next_only_values(dash_ctx, actor):
    cc = actor("CC-01")
    first = page.map_update(dash_ctx, cc, "events", 60, ["alerts"], CITY_VIEW, "zh", None)
    n = len(first.hex_data["features"])
    assert n > 50 and len(first.hex_hideout["v"]) == n
    assert any(v > 0 for v in first.hex_hideout["v"])
    # What is sent carries its digest: the page reads back what it holds (hexmap.track_drawn).
    assert first.hex_data["digest"] == first.digest
    assert {m["digest"] for m in first.markers.values()} == {first.marker_digest}
    again = page.map_update(dash_ctx, cc, "events", 60, ["alerts"], CITY_VIEW, "zh",
                            first.digest, first.marker_digest)
    assert again.hex_data is None and again.digest == first.digest
    assert set(again.markers.values()) == {None}  # unchanged markers are not re-sent
    assert len(json.dumps(again.hex_hideout)) < 20_000


def test_the_counts_are_the_stored_events_of_the_window(dash_ctx, actor):
    tick = page.map_update(dash_ctx, actor("CC-01"), "events", 60, [], CITY_VIEW, "en", None)
    # Events outside the city's grids count too: stored with empty regions, never dropped.
    stored = dash_ctx.store.scalar("SELECT count(*) FROM events WHERE ts >= ? AND ts <= ? "
                                   "AND cell IS NOT NULL",
                                   [DEMO_END - timedelta(minutes=60), DEMO_END])
    assert sum(tick.hex_hideout["v"]) == stored


def test_a_street_view_draws_res_10_cells_only_in_the_box(dash_ctx, actor):
    view = {"res": 10, "zoom": 16, "bbox": [121.470, 31.225, 121.480, 31.232]}
    tick = page.map_update(dash_ctx, actor("CC-01"), "events", 1440, [], view, "zh", None)
    ids = [f["properties"]["id"] for f in tick.hex_data["features"]]
    assert tick.digest.startswith("10:") and 0 < len(ids) < 1500
    assert {h3i.get_resolution(h3i.str_to_int(i)) for i in ids} == {10}


@pytest.mark.parametrize("measure", ["incidents", "aqi", "alerts", "cases"])
def test_every_measure_draws_values(dash_ctx, actor, measure):
    tick = page.map_update(dash_ctx, actor("CC-01"), measure, 1440, [], CITY_VIEW, "zh", None)
    assert any(v > 0 for v in tick.hex_hideout["v"]), measure
    if measure == "aqi":
        assert tick.hex_hideout["max"] == 500


def test_marker_layers_carry_ids_a_click_can_pick(dash_ctx, actor):
    tick = page.map_update(dash_ctx, actor("CC-01"), "events", 1440,
                           ["incidents", "alerts", "cases"], CITY_VIEW, "zh", None)
    for kind in ("incidents", "alerts", "cases"):
        features = tick.markers[kind]["features"]
        assert features and all(f["properties"]["kind"] == kind for f in features), kind


def test_a_department_user_sees_only_the_cases_it_leads_or_assists_on_the_map(dash_ctx, actor):
    dept = actor("ST-CN-lhsr")
    tick = page.map_update(dash_ctx, dept, "cases", 1440, ["cases"], CITY_VIEW, "zh", None)
    ids = [f["properties"]["id"] for f in tick.markers["cases"]["features"]]
    assert ids
    rows = dash_ctx.store.cursor().execute(
        "SELECT department, assisting FROM cases WHERE list_contains(?::VARCHAR[], case_id)",
        [ids]).fetchall()
    assert len(rows) == len(set(ids))
    assert all(lead == "CN-lhsr" or "CN-lhsr" in assisting for lead, assisting in rows)


def test_a_district_officer_sees_only_cells_of_the_district(dash_ctx, actor):
    officer = actor("EO-02")  # Huangpu
    cells, _ = reads.measure_values(dash_ctx.store, dash_ctx.scope(officer), "events", 10,
                                    DEMO_END - timedelta(hours=3), DEMO_END, None)
    districts = set(dash_ctx.store.query(
        "SELECT DISTINCT district_id FROM events WHERE list_contains(?::UBIGINT[], cell)",
        [cells.tolist()]).column("district_id").to_pylist())
    assert districts == {"HP"}


def test_the_side_panel_sends_the_queue_only_when_it_changed(dash_ctx, actor):
    cards, queue, digest = page.side_update(dash_ctx, actor("CC-01"), "zh", None)
    assert len(cards) == 6 and queue
    _, again, same = page.side_update(dash_ctx, actor("CC-01"), "zh", digest)
    assert again is no_update and same == digest


def test_dead_letters_are_counted_only_for_city_wide_staff(dash_ctx, actor):
    assert reads.status(dash_ctx.store, dash_ctx.scope(actor("CC-01")), DEMO_END)[
        "dead_letters"] is not None
    assert reads.status(dash_ctx.store, dash_ctx.scope(actor("GW-00001")), DEMO_END)[
        "dead_letters"] is None


def test_a_picked_cell_shows_its_statistics_grid_workers_and_masked_reporters(dash_ctx, actor):
    row = dash_ctx.store.query("SELECT cell, grid_id FROM events WHERE topic = 'incident' "
                               "AND grid_id IS NOT NULL ORDER BY ts DESC LIMIT 1").to_pylist()[0]
    pick = {"kind": "cell", "id": h3i.int_to_str(row["cell"])}
    text = json.dumps([c.to_plotly_json() for c in page.detail_for(
        dash_ctx, actor("SV-01"), pick, "zh", 1440)], default=str, ensure_ascii=False)
    worker = dash_ctx.directory.staff.by_grid.get(row["grid_id"])
    assert worker and worker[0] in text
    phones = dash_ctx.store.query("SELECT reporter_phone FROM events WHERE cell = ? AND "
                                  "reporter_phone IS NOT NULL", [row["cell"]]).to_pylist()
    for p in phones:
        assert p["reporter_phone"] not in text  # a supervisor sees them masked
        assert p["reporter_phone"][-4:] in text


def test_a_picked_alert_says_why_it_fired(dash_ctx, actor):
    alert = alert_reads.alert_queue(dash_ctx.store, dash_ctx.scope(actor("CC-01")))[0]
    panel = page.detail_for(dash_ctx, actor("CC-01"), {"kind": "alerts", "id": alert["alert_id"]},
                            "en", 60)
    text = json.dumps([c.to_plotly_json() for c in panel], default=str)
    assert "Why did this fire" in text and alert["rule_id"] in text and "Threshold" in text


def test_a_case_of_another_department_is_not_shown(dash_ctx, actor):
    other = dash_ctx.store.scalar("SELECT case_id FROM cases WHERE department <> 'CN-lhsr' "
                                  "AND NOT list_contains(assisting, 'CN-lhsr') LIMIT 1")
    panel = page.detail_for(dash_ctx, actor("ST-CN-lhsr"), {"kind": "cases", "id": other}, "en",
                            60)
    assert other not in json.dumps([c.to_plotly_json() for c in panel], default=str)


def _alert_without_case(dash_ctx):
    return dash_ctx.store.scalar(
        "SELECT alert_id FROM alerts a WHERE state = 'firing' AND rule_id = 'safety.gas' "
        "AND NOT EXISTS (SELECT 1 FROM case_sources s WHERE s.source_id = a.alert_id)") or \
        dash_ctx.store.scalar(
            "SELECT alert_id FROM alerts a WHERE state = 'firing' AND NOT EXISTS (SELECT 1 FROM "
            "case_sources s WHERE s.source_id = a.alert_id) LIMIT 1")


def test_the_dispatch_form_suggests_routings_department_for_an_alert(dash_ctx, actor):
    alert_id = _alert_without_case(dash_ctx)
    title, _cats, category, depts, suggested = page.form_for(
        dash_ctx, actor("CC-01"), {"kind": "alerts", "id": alert_id}, "zh")
    assert alert_id in title and category and suggested
    assert depts[0]["value"] == suggested and "建议" in depts[0]["label"]


def test_a_dispatch_outside_the_remit_is_refused_before_sending(acting_ctx, actor):
    ctx, _ = acting_ctx
    case = ctx.store.query("SELECT case_id, category, district_id FROM cases WHERE state = 'new' "
                           "LIMIT 1").to_pylist()[0]
    pick = {"kind": "cases", "id": case["case_id"]}
    _, _, _, depts, suggested = page.form_for(ctx, actor("CC-01"), pick, "en")
    outside = next(d["value"] for d in depts if "outside remit" in d["label"])
    words, css, disabled = page.check_dispatch(ctx, actor("CC-01"), pick, outside,
                                               case["category"], [], "", "en")
    assert disabled and "og-refused" in css and "remit" in words
    # Overriding needs a reason; with one, the command centre may send it.
    assert page.check_dispatch(ctx, actor("CC-01"), pick, outside, case["category"],
                               ["override"], "", "en")[2]
    assert not page.check_dispatch(ctx, actor("CC-01"), pick, outside, case["category"],
                                   ["override"], "flood duty", "en")[2]
    assert not page.check_dispatch(ctx, actor("CC-01"), pick, suggested, case["category"], [],
                                   "", "en")[2]


def test_opening_a_case_from_an_alert_sends_one_open_command_with_the_department(
        acting_ctx, actor, broker):
    ctx, prefix = acting_ctx
    alert_id = _alert_without_case(ctx)
    pick = {"kind": "alerts", "id": alert_id}
    _, _, category, _, suggested = page.form_for(ctx, actor("CC-01"), pick, "zh")
    pending, status = page.send_dispatch(ctx, actor("CC-01"), pick, suggested, category, [], "",
                                         "现场核实", "zh")
    assert pending["action"] == "open" and status
    (record,) = consume_all(broker, prefix + "commands", 1, timeout_s=20)
    message = json.loads(record.value)
    assert (message["action"], message["alert_id"], message["department"], message["actor"]) == (
        "open", alert_id, suggested, "CC-01")
    assert message["command_id"] == pending["command_id"]


def test_acknowledging_sends_the_command_and_a_grid_worker_cannot(acting_ctx, actor, broker):
    ctx, prefix = acting_ctx
    alert_id = _alert_without_case(ctx)
    pending, _ = page.acknowledge(ctx, actor("CC-01"), alert_id, "en")
    assert pending["action"] == "acknowledge"
    refused, words = page.acknowledge(ctx, actor("GW-00001"), alert_id, "en")
    assert refused is None and words  # a grid worker sees no such alert, or may not act
    (record,) = consume_all(broker, prefix + "commands", 1, timeout_s=20)
    assert json.loads(record.value)["alert_id"] == alert_id


def test_boundaries_not_shown_at_start_are_sent_once_when_switched_on(dash_ctx):
    first = page.boundary_update(dash_ctx, ["district", "grid"], ["district", "street"])
    levels = list(page.BOUNDARIES)
    hideouts, data, sent = first[:4], first[4:8], first[8]
    assert [h["visible"] for h in hideouts] == [lvl in ("district", "grid") for lvl in levels]
    grid = data[levels.index("grid")]
    assert grid["features"] and all(d is no_update for i, d in enumerate(data)
                                    if levels[i] != "grid")
    assert sent == ["district", "street", "grid"]
    again = page.boundary_update(dash_ctx, ["district", "grid"], sent)
    assert all(d is no_update for d in again[4:8])


def test_the_page_starts_without_the_heavy_boundary_levels(dash_ctx, actor):
    tree = page.layout(dash_ctx, actor("CC-01"), "zh", "/map")
    size = len(json.dumps(tree.to_plotly_json(), default=str))
    assert size < 150_000, size  # communities and grids (about 400 KB) come on demand


def test_an_alert_says_what_its_rule_measures_in_its_kinds_terms(demo_rules):
    from onegrid.dashboard.views.overview import rule_basis

    rules = {r.id: r for r in demo_rules.rules}
    assert rule_basis(rules["air.pm25.forecast"], "en") == (
        "early warning for pm25: the 1 h trend read 2 h ahead, rising at least 5/h")
    assert rule_basis(rules["air.pm25.forecast"], "zh") == (
        "pm25 预警：按近1小时趋势外推 2小时，升速不低于 5/小时")
    threshold = next(r for r in rules.values() if r.kind == "threshold")
    assert rule_basis(threshold, "en").startswith(f"{threshold.stat} of {threshold.metric}")
    silent = next(r for r in rules.values() if r.kind == "nodata")
    assert rule_basis(silent, "en").startswith("device silent for ")


def test_an_alert_says_when_its_rule_is_decided(demo_rules):
    from onegrid.dashboard.views.overview import rule_cadence

    rules = {r.id: r for r in demo_rules.rules}
    forecast = rules["air.pm25.forecast"]  # every = "30s" in the demo rules
    assert rule_cadence(forecast, "en") == "every 30 s of event time"
    assert rule_cadence(forecast, "zh") == "按事件时间每30秒判定一次"
    hourly = dataclasses.replace(forecast, every_s=3600)
    assert rule_cadence(hourly, "en") == "every 1 h of event time"
    smoke = next(r for r in rules.values() if not r.every_s)
    assert rule_cadence(smoke, "zh") == "数据到达即判定"
