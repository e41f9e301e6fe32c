"""The supervision page (督办/考核): KPIs, the overdue list and its presses, the audit trail,
called with plain values over the demo day."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from onegrid.alerts.supervision import overdue_list
from onegrid.dashboard import create_app
from onegrid.dashboard.components import kpi as kpi_table
from onegrid.dashboard.components import press as presses
from onegrid.dashboard.components.press import W as PRESS_WORDS
from onegrid.dashboard.pages import supervision as page
from onegrid.dashboard.queries import supervision as reads
from onegrid.dashboard.views import supervision as view
from onegrid.dashboard.views.supervision import PICK, PRESS_ONE, SORT_BY, W
from onegrid.geo.store import Store
from tests.dashboard.conftest import DEMO_END
from tests.streams.kafka_helpers import consume_all

PERIOD_30D = (DEMO_END - timedelta(days=30), DEMO_END + timedelta(microseconds=1))


class RecordingSender:
    """A Sender that keeps the commands it is given (nothing reaches Kafka)."""

    def __init__(self):
        self.sent: list[dict] = []

    def command(self, fields):
        self.sent.append(dict(fields))
        return f"cmd-{len(self.sent)}"


@pytest.fixture
def recording_ctx(dash_ctx):
    sender = RecordingSender()
    return dataclasses.replace(dash_ctx, sender=sender, _scopes={}), sender


@pytest.fixture(scope="module")
def hp_supervisor(actor):
    """A supervisor whose region is the Huangpu district only."""
    return dataclasses.replace(actor("SV-01"), actor_id="SV-HP", region_id="HP")


def walk(component):
    """Yield every component of a layout tree, in document order."""
    todo = [component]
    while todo:
        c = todo.pop(0)
        yield c
        kids = getattr(c, "children", None)
        todo[:0] = kids if isinstance(kids, list | tuple) else [kids] if kids is not None else []


def ids_in(component) -> list:
    return [c.id for c in walk(component) if getattr(c, "id", None) is not None]


def texts(component) -> str:
    return " ".join(str(c) for c in walk(component) if isinstance(c, str | int))


def counted_cases(ctx, where="true", params=()):
    return ctx.store.scalar(
        "SELECT count(*) FROM cases WHERE merged_into IS NULL AND state NOT IN "
        f"('suggested', 'dismissed') AND created_at >= ? AND created_at < ? AND {where}",
        [*PERIOD_30D, *params])


# -- layout and roles ------------------------------------------------------------------

@pytest.mark.parametrize("who", ["SV-01", "AD-01", "CC-01"])
def test_every_id_the_callbacks_use_is_in_the_layout(dash_ctx, actor, who):
    found = set(ids_in(page.layout(dash_ctx, actor(who), "zh", "/supervision")))
    assert set(page.IDS) <= found, set(page.IDS) - found


def test_the_page_is_for_command_supervisors_and_admins_only(actor):
    assert page.PAGE.path == "/supervision" and page.PAGE.nav == "nav_supervision"
    assert {a for a in ("SV-01", "AD-01", "CC-01", "ST-SH-cg", "GW-00001", "EO-01")
            if page.PAGE.allows(actor(a))} == {"SV-01", "AD-01", "CC-01"}


def test_department_users_get_nothing_from_the_page_callbacks(dash_ctx, actor):
    dept = actor("ST-SH-cg")
    for call in (lambda: page.kpi_update(dash_ctx, dept, "30d", "department", None, "zh", None),
                 lambda: page.overdue_update(dash_ctx, dept, "zh", [], None),
                 lambda: page.audit_update(dash_ctx, dept, "zh", None),
                 lambda: page.chain_update(dash_ctx, dept, "zh")):
        with pytest.raises(PreventUpdate):
            call()


def test_a_department_user_posting_to_the_overdue_callback_gets_nothing(dash_ctx):
    app = create_app(dash_ctx)
    client = app.server.test_client()
    assert client.post("/login", data={"user": "ST-SH-cg", "password": "onegrid"}
                       ).status_code == 302
    key = next(k for k in app.callback_map if page.OVERDUE_COUNT in k)
    outputs = [{"id": i, "property": p} for i, p in (
        (page.OVERDUE_COUNT, "children"), (page.OVERDUE, "children"), (page.SHOWN, "data"),
        (page.OVERDUE_DIGEST, "data"))]
    body = {"output": key, "outputs": outputs,
            "inputs": [{"id": "shell-tick", "property": "n_intervals", "value": 1},
                       {"id": "shell-language", "property": "value", "value": "zh"}],
            "state": [{"id": page.SELECTED, "property": "data", "value": []},
                      {"id": page.OVERDUE_DIGEST, "property": "data", "value": None}],
            "changedPropIds": ["shell-tick.n_intervals"]}
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 204  # PreventUpdate: no case, no count
    assert b"C-" not in response.data


def test_the_audit_trail_is_shown_to_supervisors_and_admins_not_to_command_staff(dash_ctx,
                                                                                 actor):
    def audit_style(who):
        tree = page.layout(dash_ctx, actor(who), "zh", "/supervision")
        return next(c for c in walk(tree) if page.AUDIT in ids_in(c)
                    and getattr(c, "className", "") == "og-panel").style
    assert audit_style("SV-01") == {} and audit_style("AD-01") == {}
    assert audit_style("CC-01") == {"display": "none"}
    with pytest.raises(PreventUpdate):
        page.audit_update(dash_ctx, actor("CC-01"), "zh", None)


def test_every_word_is_in_both_languages():
    assert W.keys("zh") == W.keys("en")
    assert PRESS_WORDS.keys("zh") == PRESS_WORDS.keys("en")


# -- KPIs ------------------------------------------------------------------------------

def test_periods_end_at_the_clock_and_today_starts_at_local_midnight():
    now = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    assert reads.period_bounds("today", now, "Asia/Shanghai") == (
        datetime(2026, 5, 31, 16, 0, tzinfo=UTC), now)
    assert reads.period_bounds("7d", now, "Asia/Shanghai") == (now - timedelta(days=7), now)
    assert reads.period_bounds("30d", now, "Asia/Shanghai")[0] == now - timedelta(days=30)


def test_kpis_by_department_count_every_case_of_the_period_once(dash_ctx, actor):
    rows = reads.kpi_rows(dash_ctx.store, dash_ctx.scope(actor("SV-01")), "department",
                          *reads.period_bounds("30d", DEMO_END, "Asia/Shanghai"))
    assert sum(k.cases for k in rows) == counted_cases(dash_ctx) > 100
    assert sum(k.backlog for k in rows) == sum(k.cases - k.closed for k in rows)
    assert any(k.on_time_rate is not None for k in rows)
    assert all(0 <= (k.on_time_rate or 0) <= 1 and 0 <= (k.return_rate or 0) <= 1 for k in rows)


def test_a_district_supervisor_assesses_only_the_cases_of_their_district(dash_ctx,
                                                                         hp_supervisor):
    scope, period = dash_ctx.scope(hp_supervisor), reads.period_bounds("30d", DEMO_END, "UTC")
    by_dept = reads.kpi_rows(dash_ctx.store, scope, "department", *period)
    # City departments appear too, counted only over their Huangpu cases.
    assert sum(k.cases for k in by_dept) == counted_cases(dash_ctx, "district_id = 'HP'")
    assert [k.key for k in reads.kpi_rows(dash_ctx.store, scope, "district", *period)] == ["HP"]
    streets = {k.key for k in reads.kpi_rows(dash_ctx.store, scope, "street", *period)}
    assert streets and all(s.startswith("HP-") for s in streets)


def test_the_kpi_table_and_charts_name_departments_in_the_ui_language(dash_ctx, actor):
    reg = dash_ctx.registry
    for lang, field in (("zh", "name_zh"), ("en", "name_en")):
        _, rate, backlog, table, hint, digest = page.kpi_update(
            dash_ctx, actor("SV-01"), "30d", "department", None, lang, None)
        words = texts(table)
        assert W(lang, "col_on_time_rate") in words and W(lang, "col_satisfaction_rate") in words
        biggest = backlog.data[0].customdata[0]
        assert biggest in {getattr(d, field) for d in reg.departments.values()}
        assert biggest in words
        assert rate.data[0].x and max(rate.data[0].x) <= 100
        assert digest and hint


def test_regions_are_named_from_the_city_registers(dash_ctx, actor):
    _, _, _, table, _, _ = page.kpi_update(dash_ctx, actor("SV-01"), "30d", "district", None,
                                           "en", None)
    name = dash_ctx.regions.levels["district"].at["HP", "name_en"]
    assert name in texts(table) and W("en", "no_region") in texts(table)


def test_the_charts_put_the_lowest_on_time_rate_and_the_biggest_backlog_first(dash_ctx,
                                                                              actor):
    _, rate, backlog, _, _, _ = page.kpi_update(dash_ctx, actor("SV-01"), "30d", "department",
                                                None, "zh", None)
    assert list(rate.data[0].x) == sorted(rate.data[0].x)
    assert list(backlog.data[0].x) == sorted(backlog.data[0].x, reverse=True)
    assert len(backlog.data[0].x) == view.CHART_TOP


def test_the_kpi_table_sorts_by_any_column_with_empty_values_last():
    rows = [{"name": "a", "on_time_rate": 0.5}, {"name": "b", "on_time_rate": None},
            {"name": "c", "on_time_rate": 0.9}]
    assert [r["name"] for r in kpi_table.sort_rows(rows, "on_time_rate", False)] == \
        ["a", "c", "b"]
    assert [r["name"] for r in kpi_table.sort_rows(rows, "on_time_rate", True)] == \
        ["c", "a", "b"]
    assert kpi_table.next_sort({"col": "backlog", "desc": True}, "backlog") == \
        {"col": "backlog", "desc": False}
    assert kpi_table.next_sort({"col": "backlog", "desc": True}, "cases") == \
        {"col": "cases", "desc": True}


def test_the_table_is_drawn_in_the_chosen_order_with_sortable_headers(dash_ctx, actor):
    sort = {"col": "mean_accept_s", "desc": False}
    _, _, _, table, _, _ = page.kpi_update(dash_ctx, actor("SV-01"), "30d", "district", sort,
                                           "en", None)
    headers = [i for i in ids_in(table) if isinstance(i, dict)]
    assert {"type": SORT_BY, "col": "on_time_rate"} in headers
    assert any(str(c).endswith("▲") for c in walk(table) if isinstance(c, str))
    kpis = reads.kpi_rows(dash_ctx.store, dash_ctx.scope(actor("SV-01")), "district",
                          *reads.period_bounds("30d", DEMO_END, "UTC"))
    fastest = min((k for k in kpis if k.mean_accept_s is not None),
                  key=lambda k: k.mean_accept_s)
    body = table.children.children[1].children
    assert view.group_name(dash_ctx.registry, dash_ctx.regions, "district", fastest.key,
                           "en") == body[0].children[0].children


def test_kpis_are_not_redrawn_when_nothing_changed(dash_ctx, actor):
    first = page.kpi_update(dash_ctx, actor("SV-01"), "7d", "street", None, "zh", None)
    again = page.kpi_update(dash_ctx, actor("SV-01"), "7d", "street", None, "zh", first[-1])
    assert again[:4] == (no_update,) * 4 and again[-1] == first[-1]
    other = page.kpi_update(dash_ctx, actor("SV-01"), "7d", "department", None, "zh", first[-1])
    assert other[-1] != first[-1]


# -- the overdue list and its presses ---------------------------------------------------

def test_the_overdue_list_is_most_overdue_first_with_links_and_ladder_steps(dash_ctx, actor):
    count, content, shown, _ = page.overdue_update(dash_ctx, actor("SV-01"), "zh", [], None)
    expected = overdue_list(dash_ctx.store.cursor(), DEMO_END)
    assert count == W("zh", "overdue_count", n=len(expected)) and expected
    assert list(shown) == [o.case.case_id for o in expected]
    links = [c.href for c in walk(content) if getattr(c, "href", None)]
    assert links == [f"/case/{o.case.case_id}" for o in expected]
    words = texts(content)
    assert W("zh", "level_text", level=1, who="街道") in words
    first = expected[0].case
    assert dash_ctx.registry.departments[first.department].name_zh in words


def test_the_next_ladder_step_follows_the_sla_ladder(dash_ctx):
    first = overdue_list(dash_ctx.store.cursor(), DEMO_END)[0].case
    level, at = reads.next_step(first, DEMO_END, dash_ctx.directory)
    assert level == first.escalation_level + 1
    assert at > first.due_at or first.escalation_level == 0
    top = dataclasses.replace(first, escalation_level=3)
    assert reads.next_step(top, DEMO_END, dash_ctx.directory) is None


def test_a_district_supervisor_sees_only_their_districts_overdue_cases(dash_ctx, hp_supervisor):
    _, _, shown, _ = page.overdue_update(dash_ctx, hp_supervisor, "zh", [], None)
    everyone = overdue_list(dash_ctx.store.cursor(), DEMO_END)
    hp = [o.case.case_id for o in everyone if o.case.district_id == "HP"]
    assert list(shown) == hp and 0 < len(hp) < len(everyone)


def test_a_press_needs_a_reason_and_nothing_is_sent_without_one(recording_ctx, actor):
    ctx, sender = recording_ctx
    _, _, shown, _ = page.overdue_update(ctx, actor("SV-01"), "zh", [], None)
    case_id = next(iter(shown))
    pending, words, css = presses.press(ctx, actor("SV-01"), [case_id], "  ", shown, "zh")
    assert pending is None and "og-refused" in css and "请填写原因" in words
    assert sender.sent == []
    words, css, disabled = presses.check(ctx, actor("SV-01"), [case_id], "", "en")
    assert disabled and "Give a reason" in words


def test_an_admin_may_view_the_list_but_not_press(recording_ctx, actor):
    ctx, sender = recording_ctx
    _, content, shown, _ = page.overdue_update(ctx, actor("AD-01"), "en", [], None)
    buttons = [c for c in walk(content) if isinstance(getattr(c, "id", None), dict)
               and c.id["type"] == PRESS_ONE]
    assert buttons and all(b.disabled for b in buttons)
    case_id = next(iter(shown))
    pending, words, _ = presses.press(ctx, actor("AD-01"), [case_id], "late", shown, "en")
    assert pending is None and "may not" in words and sender.sent == []
    assert presses.check(ctx, actor("AD-01"), [case_id], "late", "en")[0] == \
        PRESS_WORDS("en", "press_view_only")


def test_a_read_only_node_says_so_before_anything_is_pressed(dash_ctx, actor):
    words, _, disabled = presses.check(dash_ctx, actor("SV-01"), [], "", "zh")
    assert disabled and "只能查看" in words


def test_a_press_outside_the_actors_region_is_refused_and_sends_nothing(recording_ctx, actor,
                                                                        hp_supervisor):
    ctx, sender = recording_ctx
    outside = next(o.case for o in overdue_list(ctx.store.cursor(), DEMO_END)
                   if o.case.district_id != "HP")
    forged = {outside.case_id: outside.seq}  # as if the page had shown it
    pending, words, _ = presses.press(ctx, hp_supervisor, [outside.case_id], "late", forged,
                                      "en")
    assert pending is None and "No such case" in words and sender.sent == []


def test_a_bulk_press_sends_nothing_when_one_case_is_refused(recording_ctx, actor):
    ctx, sender = recording_ctx
    _, _, shown, _ = page.overdue_update(ctx, actor("SV-01"), "zh", [], None)
    pending, words, _ = presses.press(ctx, actor("SV-01"), [*list(shown)[:2], "C-NOPE"],
                                      "逾期未办", shown, "zh")
    assert pending is None and "C-NOPE" in words and sender.sent == []


def test_the_selection_check_says_when_the_press_is_ready(recording_ctx, actor):
    ctx, _ = recording_ctx
    _, _, shown, _ = page.overdue_update(ctx, actor("SV-01"), "en", [], None)
    picked = list(shown)[:3]
    words, _, disabled = presses.check(ctx, actor("SV-01"), picked, "three days late", "en")
    assert not disabled and words == PRESS_WORDS("en", "press_ready", n=3)
    assert presses.check(ctx, actor("SV-01"), [], "x", "en")[2]
    assert page.picked([[picked[0]], [], [picked[1]]]) == picked[:2]


def test_ticked_cases_stay_ticked_when_the_list_is_redrawn(dash_ctx, actor):
    _, _, shown, _ = page.overdue_update(dash_ctx, actor("SV-01"), "zh", [], None)
    chosen = list(shown)[1]
    _, content, _, _ = page.overdue_update(dash_ctx, actor("SV-01"), "zh", [chosen], None)
    boxes = {c.id["id"]: c.value for c in walk(content)
             if isinstance(getattr(c, "id", None), dict) and c.id["type"] == PICK}
    assert boxes[chosen] == [chosen] and sum(bool(v) for v in boxes.values()) == 1


def test_pressing_sends_one_press_command_per_case_with_the_seq_shown(acting_ctx, actor,
                                                                      broker):
    ctx, prefix = acting_ctx
    _, _, shown, _ = page.overdue_update(ctx, actor("SV-01"), "zh", [], None)
    picked = list(shown)[:2]
    pending, words, _ = presses.press(ctx, actor("SV-01"), picked, "超期未办结，请加快处置",
                                      shown, "zh")
    assert [p["case_id"] for p in pending] == picked and words == "已发送，等待处理…"
    records = consume_all(broker, prefix + "commands", 2, timeout_s=20)
    messages = sorted((json.loads(r.value) for r in records), key=lambda m: picked.index(
        m["case_id"]))
    assert [(m["action"], m["case_id"], m["actor"], m["expected_seq"]) for m in messages] == \
        [("press", cid, "SV-01", shown[cid]) for cid in picked]
    assert {m["reason"] for m in messages} == {"超期未办结，请加快处置"}
    assert [m["command_id"] for m in messages] == [p["command_id"] for p in pending]


def test_the_status_line_shows_the_engines_answer_for_each_press(dash_ctx):
    applied, refused = (dash_ctx.store.query(
        "SELECT command_id, case_id FROM case_commands WHERE outcome = ? LIMIT 1",
        [outcome]).to_pylist()[0] for outcome in ("applied", "rejected"))
    sent = DEMO_END.timestamp()
    waiting = [{"command_id": c["command_id"], "case_id": c["case_id"], "action": "press",
                "sent_at": sent} for c in (applied, refused)]
    lines, css, still = presses.describe(dash_ctx, "en", waiting)
    assert "Done: Press for action" in str(lines[0]) and "Refused" in str(lines[1])
    assert "og-refused" in css and still is None
    unknown = [{"command_id": "cmd-not-yet", "case_id": "C-1", "action": "press",
                "sent_at": sent}]
    words, _, still = presses.describe(dash_ctx, "zh", unknown)
    assert words == "已发送，等待处理…" and still == unknown


# -- the audit trail -------------------------------------------------------------------

def test_the_chain_of_the_demo_day_is_intact_with_its_rows_and_head_hash(dash_ctx, actor):
    words, css = page.chain_update(dash_ctx, actor("SV-01"), "en")
    n, head = dash_ctx.store.cursor().execute(
        "SELECT count(*), arg_max(hash, log_seq) FROM case_log").fetchall()[0]
    assert words.startswith("Chain intact") and f"{n:,} rows" in words and head[:12] in words
    assert "og-applied" in css


def test_a_changed_log_row_is_named_in_red(dash_ctx, actor, demo_db, tmp_path,
                                           hp_supervisor):
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(demo_db, copy)
    with Store(copy) as store:
        case_id = store.scalar("SELECT l.case_id FROM case_log l JOIN cases c USING (case_id) "
                               "WHERE log_seq = 100")
        store.cursor().execute("UPDATE case_log SET reason = 'edited' WHERE log_seq = 100")
    with Store(copy, read_only=True) as store:
        ctx = dataclasses.replace(dash_ctx, store=store, _scopes={})
        words, css = page.chain_update(ctx, actor("SV-01"), "zh")
        assert "og-refused" in css and "第 100 条" in words and case_id in words
        assert "内容被改动" in words
        district = store.scalar("SELECT district_id FROM cases WHERE case_id = ?", [case_id])
        region = "XH" if district == "HP" else "HP"
        outsider = dataclasses.replace(hp_supervisor, actor_id="SV-X", region_id=region)
        words, _ = page.chain_update(ctx, outsider, "en")
        assert "row 100" in words and case_id not in words and "outside your region" in words


def test_the_latest_log_rows_read_in_words_and_only_for_visible_cases(dash_ctx, actor,
                                                                      hp_supervisor):
    content, digest = page.audit_update(dash_ctx, actor("SV-01"), "zh", None)
    words = texts(content)
    assert "系统（时限）" in words and "督办" in words
    last = dash_ctx.store.scalar("SELECT max(log_seq) FROM case_log")
    rows = [c for c in walk(content) if isinstance(getattr(c, "title", None), str)]
    assert rows[0].title == f"log_seq {last}" and len(rows) == reads.AUDIT_LIMIT
    again, same = page.audit_update(dash_ctx, actor("SV-01"), "zh", digest)
    assert again is no_update and same == digest
    hp_rows = reads.audit_rows(dash_ctx.store, dash_ctx.scope(hp_supervisor))
    districts = {dash_ctx.store.scalar("SELECT district_id FROM cases WHERE case_id = ?",
                                       [r["case_id"]]) for r in hp_rows}
    assert districts == {"HP"}


def test_staff_are_named_in_the_log(actor):
    from onegrid.dashboard.views.audit import actor_words
    names = {"CC-01": "指挥中心值班员甲"}.get
    assert actor_words("CC-01", "zh", names) == "指挥中心值班员甲 (CC-01)"
    assert actor_words("system:intake", "en", names) == "system (intake)"
    assert actor_words("system:replay", "en", names) == "system (replay)"
