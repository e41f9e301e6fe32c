"""The episodes list of the environment page (超标过程): filtered, worst first, scoped; a
picked episode replays on the map and lists its upwind candidate sources."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from dash.exceptions import PreventUpdate

from onegrid.dashboard import create_app
from onegrid.dashboard.components import sources_layer
from onegrid.dashboard.pages import environment as page
from onegrid.dashboard.pages import environment_episodes as ep
from onegrid.dashboard.queries import episodes as found
from onegrid.dashboard.queries import sources as source_reads
from onegrid.dashboard.views import episodes as view
from onegrid.geo.registry import SOURCE_CATEGORIES
from tests.dashboard import air_data
from tests.dashboard.air_data import END, hour_end

WORST_FIRST = ["EP-SH-M-PT2-1", "EP-SH-M-HP1-1", "EP-SH-M-YP1-1", "EP-SH-M-XH1-1",
               "EP-SH-N-JA-1"]


@pytest.fixture(scope="module")
def air_ctx(air_ctx):
    """The shared air context (tests/dashboard/fixtures.py) with `air_data`'s demo sources
    in its register."""
    return air_data.with_sources(air_ctx)


def listed(ctx, actor, pollutant=None, district=None, ongoing=None, since=None, until=None,
           lang="zh"):
    rows, _, note = ep.episode_list(ctx, actor, pollutant, district, ongoing, since, until,
                                    lang)
    return rows, note


def html_text(component) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


# -- the list ------------------------------------------------------------------------

def test_the_list_holds_every_episode_worst_peak_first(air_ctx, actor):
    rows, note = listed(air_ctx, actor("EO-01"))
    assert [r["id"] for r in rows] == WORST_FIRST
    assert "5 个超标过程" in note


def test_a_row_shows_station_pollutant_start_peak_end_and_duration(air_ctx, actor):
    rows, _ = listed(air_ctx, actor("EO-01"))
    haze = next(r for r in rows if r["id"] == "EP-SH-M-HP1-1")
    assert haze == {"id": "EP-SH-M-HP1-1", "station": "黄浦南京东路", "pollutant": "PM2.5",
                    "start": "06-02 00:00", "peak_at": "06-02 01:00", "peak_aqi": 210,
                    "level": 5, "end": "06-02 12:00", "hours": "12 小时"}


def test_an_ongoing_episode_reads_ongoing_in_both_languages(air_ctx, actor):
    zh, _ = listed(air_ctx, actor("EO-01"), ongoing=["ongoing"])
    en, _ = listed(air_ctx, actor("EO-01"), ongoing=["ongoing"], lang="en")
    assert [r["id"] for r in zh] == ["EP-SH-M-YP1-1"]
    assert (zh[0]["end"], en[0]["end"], en[0]["hours"]) == ("进行中", "ongoing", "3 h")


@pytest.mark.parametrize(("filters", "expected"), [
    ({"pollutant": "pm25"}, ["EP-SH-M-HP1-1", "EP-SH-M-YP1-1"]),
    ({"district": "XH"}, ["EP-SH-M-XH1-1"]),
    ({"until": "2026-06-01"}, ["EP-SH-M-PT2-1"]),  # begun before 06-02 00:00 local
    ({"since": "2026-06-02"}, WORST_FIRST[1:]),  # still on at 06-02 00:00 local or later
    ({"since": "2026-06-02", "until": "2026-06-02", "pollutant": "o3"}, ["EP-SH-M-XH1-1"]),
    ({"pollutant": "benzene", "district": "nowhere", "since": "soon"}, WORST_FIRST),
])
def test_the_list_filters_by_pollutant_district_and_local_dates(air_ctx, actor, filters,
                                                                expected):
    rows, _ = listed(air_ctx, actor("EO-01"), **filters)
    assert [r["id"] for r in rows] == expected


def test_a_filter_matching_nothing_says_so(air_ctx, actor):
    rows, note = listed(air_ctx, actor("EO-01"), pollutant="co", lang="en")
    assert rows == [] and note == view.W("en", "no_episodes")


def test_a_store_without_episodes_says_none_are_on_record(dash_ctx, actor):
    rows, note = listed(dash_ctx, actor("EO-01"))
    assert rows == [] and note == view.W("zh", "no_table")


# -- scope ---------------------------------------------------------------------------

def test_a_district_officer_lists_only_the_districts_episodes(air_ctx, actor):
    rows, _ = listed(air_ctx, actor("EO-02"))
    assert [r["id"] for r in rows] == ["EP-SH-M-HP1-1"]
    assert found.districts_in_scope(air_ctx, actor("EO-02")) == ("HP",)
    rows, _ = listed(air_ctx, actor("EO-02"), district="XH")  # not theirs: ignored
    assert [r["id"] for r in rows] == ["EP-SH-M-HP1-1"]


def test_a_district_officer_cannot_replay_another_districts_episode(air_ctx, actor):
    assert found.find_episode(air_ctx, actor("EO-02"), "EP-SH-N-JA-1") is None
    with pytest.raises(PreventUpdate):
        ep.choose(air_ctx, actor("EO-02"), ep.EPISODES, {"row_id": "EP-SH-N-JA-1"})
    line, panel, hideout, focus = ep.picked(air_ctx, actor("EO-02"), {"id": "EP-SH-N-JA-1"},
                                            "zh")
    assert line == "" and hideout == {"rank": {}} and focus["features"] == []
    assert view.W("zh", "pick_episode") in html_text(panel)


def test_a_role_that_may_not_open_the_page_lists_nothing(air_ctx, actor):
    rows, _ = listed(air_ctx, actor("GW-00001"))
    assert rows == [] and source_reads.visible_sources(air_ctx, actor("GW-00001")) == ()


def test_a_pick_posted_straight_to_dash_for_another_district_changes_nothing(air_ctx):
    client = create_app(air_ctx).server.test_client()
    client.post("/login", data={"user": "EO-02", "password": "onegrid", "lang": "zh"})
    body = {"output": f"{ep.REPLAY}.data", "outputs": {"id": ep.REPLAY, "property": "data"},
            "inputs": [{"id": ep.EPISODES, "property": "active_cell",
                        "value": {"row": 0, "column": 0, "row_id": "EP-SH-N-JA-1"}},
                       {"id": ep.LIVE, "property": "n_clicks", "value": 0}],
            "changedPropIds": [f"{ep.EPISODES}.active_cell"]}
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 204  # PreventUpdate: nothing sent back
    body["inputs"][0]["value"]["row_id"] = "EP-SH-M-HP1-1"
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    assert response.get_json()["response"][ep.REPLAY]["data"]["id"] == "EP-SH-M-HP1-1"


# -- the replay ----------------------------------------------------------------------

def test_an_episode_of_the_last_24_hours_replays_its_hours_on_the_live_slider(air_ctx, actor):
    replay = ep.choose(air_ctx, actor("EO-01"), ep.EPISODES, {"row_id": "EP-SH-M-HP1-1"})
    assert replay["anchor"] is None and replay["station"] == air_data.HAZE_STATION
    assert replay["first"] == hour_end(13).isoformat()
    assert replay["last"] == hour_end(2).isoformat()
    assert ep.replay_steps(air_ctx, replay) == (10, 21)


def test_an_older_episode_moves_the_slider_back_to_its_hours(air_ctx, actor):
    replay = ep.replay_of(air_ctx, actor("EO-01"), "EP-SH-M-PT2-1")
    assert replay["anchor"] == hour_end(10).isoformat()  # its first hour is the first step
    assert ep.replay_steps(air_ctx, replay) == (0, 2)
    anchor, marks = page.follow(air_ctx, END.isoformat(), replay, ep.REPLAY)
    assert anchor == replay["anchor"] and marks[page.LAST] == "04:00"
    with pytest.raises(PreventUpdate):  # the clock's tick leaves the replay where it is
        page.follow(air_ctx, anchor, replay, "tick")
    back, _ = page.follow(air_ctx, anchor, None, ep.REPLAY)  # back to the last 24 hours
    assert back == END.isoformat()


def test_the_map_shows_the_episode_while_it_replays(air_ctx, actor):
    replay = ep.replay_of(air_ctx, actor("EO-01"), "EP-SH-M-PT2-1")
    first, _ = ep.replay_steps(air_ctx, replay)
    step = page.map_step(air_ctx, actor("EO-01"), "pm10", "1h", first, replay["anchor"],
                         "zh", None)
    point = next(f["properties"] for f in step.station_data["features"]
                 if f["properties"]["id"] == air_data.OLD_STATION)
    assert step.station_hideout["label"][point["i"]] == "400"
    assert step.label.startswith("06-01 04:00")


def test_an_ongoing_episode_replays_up_to_the_last_hour(air_ctx, actor):
    replay = ep.replay_of(air_ctx, actor("EO-01"), "EP-SH-M-YP1-1")
    assert replay["last"] == END.isoformat() and ep.replay_steps(air_ctx, replay) == (21, 23)


def test_a_replay_jumps_to_its_first_hour_plays_and_stops_at_its_last():
    span = (10, 21)
    assert page.play(ep.REPLAY, 23, True, "zh", span) == (10, False, view.W("zh", "pause"))
    assert page.play(page.PLAYER, 10, False, "zh", span) == (11, False, view.W("zh", "pause"))
    assert page.play(page.PLAYER, 20, False, "zh", span) == (21, True, view.W("zh", "play"))
    # Play at its last hour plays it again; outside its hours play goes on to the end.
    assert page.play(page.PLAY, 21, True, "zh", span) == (10, False, view.W("zh", "pause"))
    assert page.play(page.PLAYER, 22, False, "zh", span) == (23, True, view.W("zh", "play"))


def test_a_one_hour_episode_only_jumps_and_back_to_live_goes_to_the_last_hour():
    assert page.play(ep.REPLAY, 23, True, "en", (18, 18)) == (18, True, view.W("en", "play"))
    assert page.play(ep.REPLAY, 5, False, "en", None) == (page.LAST, True,
                                                         view.W("en", "play"))
    assert ep.choose(None, None, ep.LIVE, None) is None


def test_a_replay_picks_its_station_for_the_chart(air_ctx, actor):
    replay = ep.replay_of(air_ctx, actor("EO-02"), "EP-SH-M-HP1-1")
    assert page.picked_station(air_ctx, actor("EO-02"), None, replay) == air_data.HAZE_STATION
    with pytest.raises(PreventUpdate):
        page.picked_station(air_ctx, actor("EO-02"), None, {"station": "SH-N-JA"})


def test_the_replay_line_says_station_pollutant_span_and_peak(air_ctx, actor):
    line, *_ = ep.picked(air_ctx, actor("EO-01"), {"id": "EP-SH-M-HP1-1"}, "en")
    assert line == ("Replaying: Huangpu Nanjing Road East · PM2.5 · 06-02 00:00 – 06-02 12:00 "
                    "(12 h), peak AQI 210 (06-02 01:00)")


# -- sources and candidates ----------------------------------------------------------

def test_the_sources_layer_shows_the_regions_sources_with_names_and_permits(air_ctx, actor):
    data = ep.sources_data(air_ctx, actor("EO-02"), ["sources"], "en")
    props = {f["properties"]["id"]: f["properties"] for f in data["features"]}
    assert set(props) == {"PS-HP-01", "PS-HP-02"}  # Huangpu's only
    printing = props["PS-HP-01"]
    assert printing["kind"] == "source" and printing["category"] == "print"
    assert "Bund Printing Works (demo)" in printing["tooltip"]
    assert "print works" in printing["tooltip"]
    assert "PM2.5 5 t/yr · NO₂ 12 t/yr" in printing["tooltip"]
    city = ep.sources_data(air_ctx, actor("EO-01"), ["sources"], "en")["features"]
    yard = next(f["properties"] for f in city if f["properties"]["id"] == "PS-JA-01")
    assert len(city) == len(air_data.SOURCES) and "no permitted emissions" in yard["tooltip"]
    assert ep.sources_data(air_ctx, actor("EO-02"), [], "en")["features"] == []


def test_a_city_without_a_source_register_shows_no_sources(dash_ctx, actor):
    bare = air_data.with_sources(dash_ctx, ())
    assert ep.sources_data(bare, actor("EO-01"), ["sources"], "zh")["features"] == []
    assert sources_layer.legend_rows(source_reads.visible_sources(bare, actor("EO-01")),
                                     "zh") == []  # and no legend row for them


def test_the_upwind_source_ranks_first_among_the_candidates(air_ctx, actor):
    _, panel, hideout, focus = ep.picked(air_ctx, actor("EO-01"), {"id": "EP-SH-M-HP1-1"},
                                         "zh")
    assert hideout["rank"][air_data.UPWIND_OF_HAZE] == 1
    text = html_text(panel)
    assert "外滩印刷厂（演示）" in text and "东风" in text and "km" in text
    assert "上风向候选污染源（10 km 内）" in text
    ring, wind = focus["features"]
    assert ring["geometry"]["coordinates"] == [121.481, 31.238]
    assert wind["geometry"]["coordinates"][0][0] > 121.481  # drawn from the east


def test_candidates_come_only_from_the_sources_the_officer_sees(air_ctx, actor):
    e = found.find_episode(air_ctx, actor("EO-02"), "EP-SH-M-HP1-1")
    seen = source_reads.visible_sources(air_ctx, actor("EO-02"))
    ranked = source_reads.upwind(e.station.lat, e.station.lng, e.wind_dir_deg,
                                 e.wind_speed_ms, seen, e.pollutant)
    assert {c.source.district_id for c in ranked.candidates} <= {"HP"}


def test_without_a_wind_candidates_rank_by_distance_and_permits_and_say_so(air_ctx):
    calm = source_reads.upwind(31.238, 121.481, None, None, air_data.SOURCES, "pm25")
    assert calm.reason == "no_wind" and len(calm.candidates) >= 2  # any direction counts
    assert source_reads.upwind(None, None, 90.0, 2.0, ()).reason == "no_place"


def test_a_station_outside_the_register_has_no_candidates_and_the_panel_says_why(
        air_ctx, actor):
    e = found.find_episode(air_ctx, actor("EO-01"), "EP-SH-M-HP1-1")
    unplaced = dataclasses.replace(e, station=None)
    text = html_text(view.candidates_panel(unplaced, source_reads.upwind(
        None, None, 90.0, 2.0, air_data.SOURCES), source_reads.RADIUS_KM, "en"))
    assert view.W("en", "no_place") in text and "Bund" not in text


def test_every_register_category_has_a_marker_colour_and_a_name():
    assert set(SOURCE_CATEGORIES) <= set(sources_layer.CATEGORY_COLOURS)
    assert view.category_name("boiler", "zh") == SOURCE_CATEGORIES["boiler"][0]
    assert view.category_name("volcano", "en") == "other"
    assert view.permits_text({"vocs": 12.0}, "en") == "Permitted: VOCs 12 t/yr"


def test_the_candidates_hideout_numbers_them_best_first():
    ranked = source_reads.upwind(31.238, 121.481, 90.0, 2.0, air_data.SOURCES, "pm25")
    rank = sources_layer.candidate_hideout(ranked.candidates)["rank"]
    assert rank[air_data.UPWIND_OF_HAZE] == 1 and sorted(rank.values()) == list(
        range(1, len(rank) + 1))


def test_a_ranker_can_be_given_and_only_sources_it_scores_count():
    def rank(lat, lng, wind_from_deg, wind_speed_ms, sources, radius_km, pollutant):
        return [SimpleNamespace(source=s, score=float(s.source_id == "PS-JA-01"))
                for s in sources]
    ranked = source_reads.upwind(31.2, 121.4, 90.0, 2.0, air_data.SOURCES, ranker=rank)
    assert [c.source.source_id for c in ranked.candidates] == ["PS-JA-01"]


def test_compass_points_read_in_both_languages():
    assert [view.compass(d, "zh") for d in (0, 44, 90, 200, 350)] == ["北", "东北", "东", "南",
                                                                      "北"]
    assert view.compass(135, "en") == "south-east" and view.compass(None, "en") == ""


def test_the_episode_words_have_the_same_keys_in_both_languages():
    assert view.W.keys("zh") == view.W.keys("en")


def test_an_episodes_hours_end_at_its_end_or_the_last_hour_while_ongoing(air_ctx, actor):
    rows, _ = found.list_episodes(air_ctx, actor("EO-01"), found.Filters())
    by_id = {e.episode_id: e for e in rows}
    assert by_id["EP-SH-N-JA-1"].hour_ends(END) == (hour_end(5),)
    ongoing = by_id["EP-SH-M-YP1-1"]
    assert ongoing.ongoing and ongoing.hour_ends(END)[-1] == END
    assert ongoing.hour_ends(END - timedelta(hours=1))[-1] == hour_end(1)
    assert found.filters_of("pm25", "HP", True, "2026-06-01", None, ("HP",)) == found.Filters(
        "pm25", "HP", True, date(2026, 6, 1), None)
