"""The dispatch board: scoped rows and counts, server-side filters, a live refresh that keeps
the selection, and bulk actions pre-checked row by row and sent one command each."""

from __future__ import annotations

import json

import pytest
from dash import no_update

from onegrid.alerts import sla
from onegrid.alerts.cases import row_to_case
from onegrid.alerts.routing import route
from onegrid.dashboard import create_app, ids
from onegrid.dashboard.pages import dispatch as page
from onegrid.dashboard.queries import board as reads
from tests.dashboard.conftest import DEMO_END
from tests.dashboard.test_case_page import layout_ids, post_callback, sign_in
from tests.streams.kafka_helpers import consume_all

EVERYTHING = page.board_filter([], [], [], [], [], "")


def rows_of(ctx, who, f=EVERYTHING):
    return reads.board_rows(ctx.store, ctx.scope(who), f, DEMO_END, ctx.registry)


def ids_where(ctx, sql: str, params=()) -> list[str]:
    return ctx.store.query(f"SELECT case_id FROM cases WHERE {sql} ORDER BY case_id",
                           list(params)).column("case_id").to_pylist()


def test_every_id_the_callbacks_use_is_in_the_layout(dash_ctx, actor):
    for who in ("CC-01", "ST-CN-lhsr", "SV-01"):
        found = layout_ids(page.layout(dash_ctx, actor(who), "zh", "/dispatch"))
        assert set(page.IDS) <= found, (who, set(page.IDS) - found)


def test_a_department_sees_only_the_cases_it_leads_or_assists(dash_ctx, actor):
    rows, total = rows_of(dash_ctx, actor("ST-CN-lhsr"))
    expected = ids_where(dash_ctx, "department = 'CN-lhsr' OR list_contains(assisting, 'CN-lhsr')")
    assert sorted(r["case_id"] for r in rows) == expected and total == len(expected)
    counts, _ = reads.state_counts(dash_ctx.store, dash_ctx.scope(actor("ST-CN-lhsr")),
                                   EVERYTHING, DEMO_END, dash_ctx.registry)
    assert sum(counts.values()) == len(expected)


def test_command_staff_see_the_city_and_the_strip_counts_every_state(dash_ctx, actor):
    cc = actor("CC-01")
    stored = {r["state"]: r["n"] for r in dash_ctx.store.query(
        "SELECT state, count(*) AS n FROM cases GROUP BY state").to_pylist()}
    counts, late = reads.state_counts(dash_ctx.store, dash_ctx.scope(cc),
                                      page.board_filter(["new"], [], [], [], [], ""), DEMO_END,
                                      dash_ctx.registry)
    assert counts == stored  # the strip leaves the state filter out
    everything = [row_to_case(r) for r in dash_ctx.store.query(
        "SELECT * FROM cases").to_pylist()]
    assert late == sum(sla.is_overdue(c, DEMO_END) for c in everything) > 0
    rows, total = rows_of(dash_ctx, cc)
    assert total == sum(stored.values()) and len(rows) == min(total, reads.MAX_ROWS)


def test_filters_narrow_the_rows_on_the_server(dash_ctx, actor):
    cc = actor("CC-01")
    new, total = rows_of(dash_ctx, cc, page.board_filter(["new"], [], [], [], [], ""))
    assert total == len(ids_where(dash_ctx, "state = 'new'")) and {r["state"] for r in new} == \
        {"new"}
    late, _ = rows_of(dash_ctx, cc, page.board_filter([], [], [], [], ["on"], ""))
    assert late and all(r["overdue"] and sla.is_overdue(row_to_case(r), DEMO_END) for r in late)
    dept = new[0]["department"]
    mine, _ = rows_of(dash_ctx, cc, page.board_filter([], [dept], ["CN", "HP", "XH"], [], [], ""))
    assert mine and all(r["department"] == dept and r["district_id"] in ("CN", "HP", "XH")
                        for r in mine)


def test_search_finds_cases_by_id_and_by_category_name_in_either_language(dash_ctx, actor):
    cc, reg = actor("CC-01"), dash_ctx.registry
    some = rows_of(dash_ctx, cc)[0][3]
    assert [r["case_id"] for r in rows_of(dash_ctx, cc, page.board_filter(
        [], [], [], [], [], some["case_id"][2:9].lower()))[0]] == [some["case_id"]]
    name_en = reg.categories[some["category"]].name_en
    found, _ = rows_of(dash_ctx, cc, page.board_filter([], [], [], [], [], name_en.upper()))
    assert some["case_id"] in {r["case_id"] for r in found}
    assert rows_of(dash_ctx, cc, page.board_filter([], [], [], [], [], "%' OR 1=1 --"))[1] == 0


def test_the_table_speaks_the_ui_language_and_marks_overdue_rows(dash_ctx, actor):
    _strip, records, _sel, shown, *_ = page.board_update(
        dash_ctx, actor("CC-01"), page.board_filter([], [], [], [], ["on"], ""), "en", [], None)
    reg = dash_ctx.registry
    names = {c.name_en for c in reg.categories.values()}
    assert records and all(r["category"] in names for r in records)
    assert all(r["overdue"] == 1 and r["countdown"].startswith(("Overdue", "Clock paused"))
               for r in records)
    first = records[0]
    assert first["case"] == f'<a href="/case/{first["id"]}">{first["id"]}</a>'
    assert f"{len(records)} cases" == shown


def test_a_case_id_typed_by_staff_never_becomes_markup():
    from onegrid.dashboard.views.cases import case_link
    assert case_link('<img src=x onerror=alert(1)>') == \
        '<a href="/case/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E">' \
        '&lt;img src=x onerror=alert(1)&gt;</a>'


def test_a_tick_with_nothing_changed_sends_nothing(dash_ctx, actor):
    first = page.board_update(dash_ctx, actor("CC-01"), EVERYTHING, "zh", [], None)
    again = page.board_update(dash_ctx, actor("CC-01"), EVERYTHING, "zh", [], first[-1])
    assert all(v is no_update for v in again)


def test_a_refresh_keeps_the_ticked_cases_ticked_where_they_moved(dash_ctx, actor):
    cc = actor("CC-01")
    records = page.board_update(dash_ctx, cc, EVERYTHING, "zh", [], None)[1]
    kept, other = records[10]["id"], records[3]["id"]
    state = dash_ctx.store.query("SELECT state FROM cases WHERE case_id = ?",
                                 [kept]).to_pylist()[0]["state"]
    narrower = page.board_filter([state], [], [], [], [], "")
    _, again, selected, *_ = page.board_update(dash_ctx, cc, narrower, "zh", [other, kept], None)
    still = {r["id"] for r in again} & {other, kept}
    assert kept in still and {again[i]["id"] for i in selected} == still


def test_a_strip_card_filters_by_its_state_and_again_shows_all():
    assert page.strip_toggle("new", [], []) == (["new"], [])
    assert page.strip_toggle("new", ["new"], ["on"]) == ([], ["on"])
    assert page.strip_toggle("overdue", ["new"], []) == (["new"], ["on"])
    assert page.strip_toggle("all", ["new"], ["on"]) == ([], [])


# -- bulk ---------------------------------------------------------------------------

def find(component, ident: str):
    """Return the component with this id in a layout tree."""
    todo = [component]
    while todo:
        c = todo.pop()
        if isinstance(c, list | tuple):
            todo += list(c)
        elif getattr(c, "id", None) == ident:
            return c
        elif getattr(c, "children", None) is not None and not isinstance(c.children, str):
            todo.append(c.children)
    raise LookupError(ident)


def test_each_role_gets_its_own_bulk_actions(dash_ctx, actor):
    found = {who: [o["value"] for o in find(page.layout(dash_ctx, actor(who), "en", "/dispatch"),
                                            page.BULK_ACTION).options]
             for who in ("CC-01", "ST-CN-lhsr", "SV-01")}
    assert found == {"CC-01": ["dispatch", "press", "close"], "ST-CN-lhsr": ["accept", "start"],
                     "SV-01": ["press"]}


def test_the_preview_lists_refused_rows_with_their_reason(acting_ctx, actor):
    ctx, _ = acting_ctx
    verified = ids_where(ctx, "state = 'verified'")[:2]
    other = ids_where(ctx, "state = 'in_progress'")[:1]
    preview, disabled = page.bulk_check(ctx, actor("CC-01"), "close", verified + other, "",
                                        "zh")
    text = json.dumps(preview, default=lambda c: c.to_plotly_json(), ensure_ascii=False)
    assert "2 条可执行，1 条不可执行" in text and other[0] in text and "状态" in text
    assert disabled is False
    assert page.bulk_check(ctx, actor("CC-01"), "press", verified, "", "zh")[1] is True


def test_bulk_dispatch_sends_one_command_per_row_to_routings_department(
        acting_ctx, actor, broker):
    ctx, prefix = acting_ctx
    cc = actor("CC-01")
    new = ids_where(ctx, "state = 'new'")[:3]
    closed = ids_where(ctx, "state = 'closed'")[:1]
    there = _dispatched_where_routing_says(ctx)[:1]
    seqs = {i: 1 for i in new}
    pending, _results = page.bulk_run(ctx, cc, "dispatch", new + closed + there, "", seqs, "zh")
    refused = {i["case_id"]: i["refusal"] for i in pending["items"] if i["refusal"]}
    assert set(refused) == {*closed, *there}
    assert "状态" in refused[closed[0]] and "无需重复派单" in refused[there[0]]
    records = consume_all(broker, f"{prefix}commands", 3, timeout_s=20)
    sent = sorted((json.loads(r.value) for r in records), key=lambda m: m["case_id"])
    d = ctx.directory
    assert [m["case_id"] for m in sent] == sorted(new)
    for m in sent:
        row = ctx.store.query("SELECT category, grid_id FROM cases WHERE case_id = ?",
                              [m["case_id"]]).to_pylist()[0]
        lead = route(row["category"], row["grid_id"], d.registry, d.regions, d.staff,
                     d.fallback_owners).lead
        assert m["action"] == "dispatch" and m["department"] == lead and m["expected_seq"] == 1
    assert {i["command_id"] for i in pending["items"] if i["command_id"]} == \
        {m["command_id"] for m in sent}


def _dispatched_where_routing_says(ctx) -> list[str]:
    d = ctx.directory
    rows = ctx.store.query("SELECT case_id, category, grid_id, department FROM cases WHERE "
                           "state = 'dispatched' ORDER BY case_id LIMIT 50").to_pylist()
    return [r["case_id"] for r in rows if route(r["category"], r["grid_id"], d.registry,
                                                d.regions, d.staff,
                                                d.fallback_owners).lead == r["department"]]


def test_bulk_results_follow_the_engines_answers(dash_ctx, actor):
    applied = dash_ctx.store.query(
        "SELECT command_id, case_id, action, actor FROM case_commands WHERE outcome = 'applied' "
        "AND actor = 'CC-01' LIMIT 1").to_pylist()[0]
    pending = {"sent_at": DEMO_END.timestamp(), "items": [
        {**applied, "refusal": None}, {"case_id": "C-X", "action": "close", "command_id": None,
                                       "refusal": "不能执行：…"}]}
    results, awaiting = page.bulk_follow(dash_ctx, actor("CC-01"), pending, "zh")
    text = json.dumps(results, default=lambda c: c.to_plotly_json(), ensure_ascii=False)
    assert "已处理" in text and "未发送" in text and awaiting is False
    # Another actor never reads CC-01's answers.
    results, awaiting = page.bulk_follow(dash_ctx, actor("SV-01"), pending, "zh")
    assert "已处理" not in json.dumps(results, default=lambda c: c.to_plotly_json(),
                                      ensure_ascii=False) and awaiting is True


def test_a_department_cannot_bulk_act_on_another_departments_cases(acting_ctx, actor, broker):
    ctx, prefix = acting_ctx
    st = actor("ST-CN-lhsr")
    others = ids_where(ctx, "state = 'dispatched' AND department <> 'CN-lhsr'")[:3]
    pending, _ = page.bulk_run(ctx, st, "accept", others, "", None, "zh")
    assert all(i["refusal"] and "没有这个工单" in i["refusal"] for i in pending["items"])
    pending, _ = page.bulk_run(ctx, st, "dispatch", others, "", None, "zh")
    assert all(i["refusal"] for i in pending["items"])  # not a department's bulk action
    assert consume_all(broker, f"{prefix}commands", 1, timeout_s=2) == []


@pytest.mark.parametrize("forged_action", ["accept", "close"])
def test_posting_a_bulk_action_straight_to_dash_sends_nothing_outside_the_scope(
        acting_ctx, broker, forged_action):
    ctx, prefix = acting_ctx
    app = create_app(ctx)
    client = app.server.test_client()
    sign_in(client, "ST-CN-lhsr")
    others = ids_where(ctx, "state IN ('dispatched', 'verified') AND department <> 'CN-lhsr'")[:4]
    response = post_callback(client, app, page.BULK_PENDING, {
        f"{page.BULK_SEND}.n_clicks": 1, f"{page.TABLE}.selected_row_ids": others,
        f"{page.BULK_ACTION}.value": forged_action, f"{ids.LANGUAGE}.value": "zh"})
    assert response.status_code == 200
    items = json.loads(response.get_data(as_text=True))["response"][page.BULK_PENDING][
        "data"]["items"]
    assert len(items) == len(others) and all(i["command_id"] is None for i in items)
    assert consume_all(broker, f"{prefix}commands", 1, timeout_s=2) == []
