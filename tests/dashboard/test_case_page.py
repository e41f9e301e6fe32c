"""The case page: summary, whole-process record, sources, plan steps and the actions the
user may take, scoped on the server, including for callbacks posted straight to Dash."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from dash import no_update

from onegrid.dashboard import create_app, ids
from onegrid.dashboard.components import case_form as form
from onegrid.dashboard.pages import case as page
from onegrid.dashboard.queries import cases as case_reads
from onegrid.dashboard.views import case_detail as view
from onegrid.dashboard.views.case_detail import ACT, STEP
from onegrid.geo.store import Store
from tests.streams.kafka_helpers import consume_all

# -- helpers ------------------------------------------------------------------------


def layout_ids(component) -> set:
    """Return every id in a layout tree (string ids and pattern-matching dict ids)."""
    found, todo = set(), [component]
    while todo:
        c = todo.pop()
        if isinstance(c, list | tuple):
            todo += list(c)
            continue
        ident = getattr(c, "id", None)
        if isinstance(ident, str):
            found.add(ident)
        elif isinstance(ident, dict):
            found.add(json.dumps(ident, sort_keys=True))
        kids = getattr(c, "children", None)
        if kids is not None and not isinstance(kids, str | int | float):
            todo.append(kids)
    return found


def flat_text(component) -> str:
    """Return all the text of a layout tree, with the ids and attributes it carries."""
    return json.dumps(component, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


def one(ctx, sql: str, params=()) -> str:
    rows = ctx.store.query(sql, list(params)).to_pylist()
    assert rows, sql
    return next(iter(rows[0].values()))


def sign_in(client, user: str) -> None:
    response = client.post("/login", data={"user": user, "password": "onegrid", "lang": "zh"})
    assert response.status_code == 302, response.get_data(as_text=True)


def post_callback(client, app, first_output: str, values: dict[str, object]):
    """Post a callback body to /_dash-update-component as the page would, for the callback
    whose first output is `first_output`; `values` maps "id.property" of its inputs and
    states to the values to send (the rest are sent as None)."""
    key = next(k for k in app.callback_map if k.startswith(f"..{first_output}."))
    spec = app.callback_map[key]
    outputs = []
    for part in key.strip(".").split("..."):
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": ident, "property": prop})

    def filled(items):
        return [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

    body = {"output": key, "outputs": outputs, "inputs": filled(spec["inputs"]),
            "state": filled(spec["state"]),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]][:1]}
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


@pytest.fixture(scope="module")
def cases(dash_ctx):
    """Case ids of the demo day the tests need, found by what they hold."""
    c = dash_ctx
    return {
        "own": one(c, "SELECT case_id FROM cases WHERE department = 'CN-lhsr' ORDER BY case_id"),
        "assisted": one(c, "SELECT case_id FROM cases WHERE list_contains(assisting, 'CN-lhsr') "
                           "AND department <> 'CN-lhsr' ORDER BY case_id"),
        "other": one(c, "SELECT case_id FROM cases WHERE state = 'dispatched' AND department "
                        "<> 'CN-lhsr' AND NOT list_contains(assisting, 'CN-lhsr') "
                        "ORDER BY case_id"),
        "alert": one(c, "SELECT s.case_id FROM case_sources s JOIN cases USING (case_id) "
                        "WHERE s.kind = 'alert' AND plan_id IS NOT NULL AND state = 'in_progress' "
                        "ORDER BY 1"),
        "reported": one(c, "SELECT s.case_id FROM case_sources s JOIN events e ON e.id = "
                           "s.source_id WHERE e.reporter_name IS NOT NULL ORDER BY 1"),
        "new": one(c, "SELECT case_id FROM cases WHERE state = 'new' ORDER BY case_id"),
        "closed": one(c, "SELECT case_id FROM cases WHERE state = 'closed' AND origin = "
                         "'report' ORDER BY case_id"),
    }


# -- the page -----------------------------------------------------------------------

def test_every_id_the_callbacks_use_is_in_the_layout(dash_ctx, actor, cases):
    found = layout_ids(page.layout(dash_ctx, actor("CC-01"), "zh", f"/case/{cases['alert']}"))
    assert set(page.IDS) <= found, set(page.IDS) - found


def test_the_page_reads_the_case_id_from_its_path():
    assert page.case_id_of("/case/C-ABC") == "C-ABC"
    assert page.case_id_of("/case/C%2DX/") == "C-X"
    assert page.case_id_of("/dispatch") == ""


def test_the_summary_names_units_grid_workers_times_and_the_clock(dash_ctx, actor, cases):
    found = page.case_view(dash_ctx, actor("CC-01"), cases["alert"], "zh")
    row = case_reads.case_row(dash_ctx.store, dash_ctx.scope(actor("CC-01")), cases["alert"])
    summary = flat_text(found["summary"])
    reg = dash_ctx.registry
    assert reg.departments[row["department"]].name_zh in summary
    assert reg.categories[row["category"]].name_zh in summary
    assert row["grid_id"] in summary and "受理时间" in summary and "派单时间" in summary
    for worker in dash_ctx.directory.staff.by_grid.get(row["grid_id"], ()):
        assert worker in summary
    assert dash_ctx.directory.plans[row["plan_id"]].title_zh in summary
    assert found["seen"] == {"case_id": cases["alert"], "seq": row["seq"]}


def test_the_log_shows_every_entry_with_words_and_shortened_hashes(dash_ctx, actor, cases):
    cc = actor("CC-01")
    rows = case_reads.case_log(dash_ctx.store, dash_ctx.scope(cc), cases["alert"])
    log = flat_text(page.case_view(dash_ctx, cc, cases["alert"], "en")["log"])
    assert len(rows) >= 2
    for r in rows:
        assert f'"case-log-{r["seq"]}"' in log
        assert f"{r['prev_hash'][:10]} → {r['hash'][:10]}" in log and r["hash"] in log
    assert "Open case" in log and "System · intake" in log


def test_sources_show_alerts_with_rule_value_threshold_and_evidence(dash_ctx, actor, cases):
    cc = actor("CC-01")
    sources = case_reads.case_sources(dash_ctx.store, dash_ctx.scope(cc), cases["alert"])
    alert = next(s for s in sources if s["kind"] == "alert")
    shown = flat_text(page.case_view(dash_ctx, cc, cases["alert"], "en")["sources"])
    assert alert["source_id"] in shown and "Threshold" in shown and "Evidence" in shown
    assert (alert["evidence"] or ["—"])[0] in shown


def test_reporters_are_masked_for_everyone_but_the_command_centre(dash_ctx, actor, cases):
    case_id = cases["reported"]
    name = one(dash_ctx, "SELECT e.reporter_name FROM case_sources s JOIN events e ON e.id = "
                         "s.source_id WHERE s.case_id = ? AND e.reporter_name IS NOT NULL",
               [case_id])
    lead = one(dash_ctx, "SELECT department FROM cases WHERE case_id = ?", [case_id])
    staff = next(a for a in dash_ctx.directory.staff.actors.values()
                 if a.role == "department" and a.dept_id == lead)
    assert name in flat_text(page.case_view(dash_ctx, actor("CC-01"), case_id, "zh")["sources"])
    masked = flat_text(page.case_view(dash_ctx, staff, case_id, "zh")["sources"])
    assert name not in masked and name[0] + "*" in masked


def test_a_reports_photo_is_a_link_among_the_sources_with_the_reporter_still_masked(
        dash_ctx, demo_db, tmp_path, actor, cases):
    case_id = cases["reported"]
    photo = "/media/" + "ab" * 16 + ".jpg"
    shutil.copy(demo_db, tmp_path / "photo.duckdb")
    with Store(tmp_path / "photo.duckdb") as store:
        # What the engine stores for a patrol report that came with a photo.
        report = store.scalar(
            "SELECT s.source_id FROM case_sources s JOIN events e ON e.id = s.source_id "
            "WHERE s.case_id = ? AND s.kind = 'report' AND e.reporter_name IS NOT NULL "
            "ORDER BY s.\"at\" LIMIT 1", [case_id])
        store.write(lambda cur: cur.execute("UPDATE events SET photo_url = ? WHERE id = ?",
                                            [photo, report]))
        ctx = dataclasses.replace(dash_ctx, store=store, _scopes={})
        name = one(ctx, "SELECT reporter_name FROM events WHERE id = ?", [report])
        lead = one(ctx, "SELECT department FROM cases WHERE case_id = ?", [case_id])
        staff = next(a for a in ctx.directory.staff.actors.values()
                     if a.role == "department" and a.dept_id == lead)
        before = flat_text(page.case_view(dash_ctx, actor("CC-01"), case_id, "en")["sources"])
        centre = flat_text(page.case_view(ctx, actor("CC-01"), case_id, "en")["sources"])
        masked = flat_text(page.case_view(ctx, staff, case_id, "en")["sources"])
    assert photo not in before
    link = f'"href": "{photo}"'
    assert link in centre and '"target": "_blank"' in centre and name in centre
    assert link in masked and name not in masked and name[0] + "*" in masked


@pytest.mark.parametrize("photo", ["javascript:alert(1)", "data:text/html,x", "", None, 42])
def test_a_report_photo_of_another_kind_of_link_is_not_shown(dash_ctx, photo):
    row = {"kind": "report", "source_id": "r-1", "category": None, "report_source": "patrol",
           "at": None, "description": "井盖缺失", "address": "", "photo_url": photo}
    good = {**row, "photo_url": "https://img.example/1.jpg"}
    shown = flat_text(view.sources_view([row], "en", tz="Asia/Shanghai",
                                        registry=dash_ctx.registry, rules={}))
    linked = flat_text(view.sources_view([good], "en", tz="Asia/Shanghai",
                                         registry=dash_ctx.registry, rules={}))
    assert '"href"' not in shown and "井盖缺失" in shown
    assert '"href": "https://img.example/1.jpg"' in linked


def test_a_case_of_another_department_reads_no_such_case(dash_ctx, actor, cases):
    st = actor("ST-CN-lhsr")
    assert page.case_view(dash_ctx, st, cases["other"], "zh") is None
    content = page.layout(dash_ctx, st, "zh", f"/case/{cases['other']}")
    assert cases["other"] not in flat_text(content) and "没有这个工单" in flat_text(content)
    out = page.detail_update(dash_ctx, st, cases["other"], "zh", None)
    assert cases["other"] not in flat_text(list(out))
    assert page.detail_update(dash_ctx, st, "C-NOPE", "zh", None)[-1] == out[-1]


def test_a_tick_with_nothing_changed_sends_nothing(dash_ctx, actor, cases):
    first = page.detail_update(dash_ctx, actor("CC-01"), cases["alert"], "zh", None)
    again = page.detail_update(dash_ctx, actor("CC-01"), cases["alert"], "zh", first[6])
    assert all(v is no_update for v in again)


def test_the_page_shows_a_new_log_entry_on_the_next_tick(dash_ctx, demo_db, tmp_path, actor,
                                                          cases):
    case_id = cases["own"]
    shutil.copy(demo_db, tmp_path / "live.duckdb")
    with Store(tmp_path / "live.duckdb") as store:
        ctx = dataclasses.replace(dash_ctx, store=store, _scopes={})
        st = actor("ST-CN-lhsr")
        first = page.detail_update(ctx, st, case_id, "zh", None)
        # What the engine does when it applies a comment: one more log row, the seq moved on.
        store.write(lambda cur: cur.execute("""
            INSERT INTO case_log SELECT log_seq + 1, case_id, seq + 1, 'comment', 'CC-01',
                   "at" + INTERVAL 1 MINUTE, state, department, NULL, '请尽快处置', '{}', hash,
                   'f00d'
            FROM case_log WHERE case_id = ? ORDER BY log_seq DESC LIMIT 1""", [case_id]))
        store.write(lambda cur: cur.execute(
            "UPDATE cases SET seq = seq + 1 WHERE case_id = ?", [case_id]))
        again = page.detail_update(ctx, st, case_id, "zh", first[6])
    assert again[6] != first[6] and "请尽快处置" in flat_text(again[2])
    assert again[5]["seq"] == first[5]["seq"] + 1  # what an action now sends as expected_seq


# -- actions ------------------------------------------------------------------------

def buttons(ctx, who, case_id, lang="zh") -> set[str]:
    found = page.case_view(ctx, who, case_id, lang)
    return {c.id["action"] for c in found["actions"] if isinstance(getattr(c, "id", None), dict)
            and c.id.get("type") == ACT}


def test_a_read_only_node_offers_no_action(dash_ctx, actor, cases):
    assert buttons(dash_ctx, actor("CC-01"), cases["new"]) == set()


def test_only_the_actions_the_role_and_state_allow_are_offered(acting_ctx, actor, cases):
    ctx, _ = acting_ctx
    assert {"dispatch", "comment", "escalate"} <= buttons(ctx, actor("CC-01"), cases["new"])
    assert "accept" not in buttons(ctx, actor("CC-01"), cases["new"])
    own = buttons(ctx, actor("ST-CN-lhsr"), cases["own"])
    assert "resolve" in own and "dispatch" not in own and "close" not in own
    assert buttons(ctx, actor("ST-CN-lhsr"), cases["assisted"]) == {"comment"}
    assert buttons(ctx, actor("SV-01"), cases["own"]) == {"press", "escalate", "comment"}
    assert "feedback" in buttons(ctx, actor("CC-01"), cases["closed"])


def test_the_dispatch_form_suggests_routing_first_and_shows_the_remit_refusal(
        acting_ctx, actor, cases):
    ctx, _ = acting_ctx
    cc, case_id = actor("CC-01"), cases["new"]
    chosen, style, _title, dept_box, override_box, *_rest, options, value = form.form_for(
        ctx, cc, case_id, "dispatch", "zh")
    assert chosen == "dispatch" and style == {} and dept_box == {} and override_box == {}
    assert options[0]["value"] == value and "建议" in options[0]["label"]
    assert form.check_form(ctx, cc, case_id, "dispatch",
                           form.form_fields(value, [], "", "", "", None), "zh")[2] is False
    outside = next(o["value"] for o in options if "清单外" in o["label"])
    line, css, disabled = form.check_form(ctx, cc, case_id, "dispatch",
                                          form.form_fields(outside, [], "", "", "", None), "zh")
    assert disabled and "og-refused" in css and "权责清单" in line
    line, _, disabled = form.check_form(ctx, cc, case_id, "dispatch",
                                        form.form_fields(outside, ["override"], "", "", "", None),
                                        "zh")
    assert disabled and "原因" in line
    assert form.check_form(ctx, cc, case_id, "dispatch", form.form_fields(
        outside, ["override"], "本部门现场处置更快", "", "", None), "zh")[2] is False


@pytest.mark.parametrize(("action", "fields", "words"), [
    ("resolve", {}, "处置说明"),
    ("resolve", {"note": "已清理", "photo_url": "javascript:alert(1)"}, "http"),
    ("comment", {}, "说明或附现场照片"),
])
def test_a_form_missing_what_its_action_needs_cannot_be_sent(acting_ctx, actor, cases, action,
                                                              fields, words):
    ctx, _ = acting_ctx
    line, _, disabled = form.check_form(ctx, actor("ST-CN-lhsr"), cases["own"], action,
                                        fields, "zh")
    assert disabled and words in line


def test_feedback_needs_the_answer_and_press_a_reason(acting_ctx, actor, cases):
    ctx, _ = acting_ctx
    cc = actor("CC-01")
    assert "回访结果" in form.check_form(ctx, cc, cases["closed"], "feedback", {}, "zh")[0]
    assert form.check_form(ctx, cc, cases["closed"], "feedback",
                           {"satisfaction": "satisfied"}, "zh")[2] is False
    assert form.check_form(ctx, cc, cases["own"], "press", {"reason": " "}, "zh")[2] is True


def test_resolving_sends_one_command_with_note_photo_and_the_seq_shown(
        acting_ctx, actor, broker, cases):
    ctx, prefix = acting_ctx
    st, case_id = actor("ST-CN-lhsr"), cases["own"]
    seq = case_reads.case_row(ctx.store, ctx.scope(st), case_id)["seq"]
    pending, status = form.send_form(
        ctx, st, case_id, {"case_id": case_id, "seq": seq - 1}, "resolve",
        form.form_fields(None, [], "", " 已修剪倒伏树木 ", "https://img.example/1.jpg", None),
        "zh")
    assert pending and pending["action"] == "resolve" and status == "已发送，等待处理…"
    [record] = consume_all(broker, f"{prefix}commands", 1, timeout_s=20)
    sent = json.loads(record.value)
    assert sent["command_id"] == pending["command_id"] and sent["case_id"] == case_id
    assert sent["action"] == "resolve" and sent["actor"] == "ST-CN-lhsr"
    assert sent["note"] == "已修剪倒伏树木" and sent["photo_url"] == "https://img.example/1.jpg"
    assert sent["expected_seq"] == seq - 1  # the seq the page showed, so a stale one is refused
    assert "reason" not in sent and "department" not in sent


def test_a_plan_step_tick_sends_the_step(acting_ctx, actor, broker, cases):
    ctx, prefix = acting_ctx
    cc, case_id = actor("CC-01"), cases["alert"]
    steps = layout_ids(page.case_view(ctx, cc, case_id, "zh")["steps"])
    step_id = one(ctx, "SELECT step_id FROM case_steps WHERE case_id = ? AND done_at IS NULL "
                       "ORDER BY ord", [case_id])
    assert json.dumps({"step": step_id, "type": STEP}, sort_keys=True) in steps
    pending, _ = form.tick_step(ctx, cc, case_id, None, step_id, "zh")
    [record] = consume_all(broker, f"{prefix}commands", 1, timeout_s=20)
    assert json.loads(record.value)["step_id"] == step_id and pending["action"] == "step"


def test_an_action_on_another_departments_case_sends_nothing(acting_ctx, actor, broker, cases):
    ctx, prefix = acting_ctx
    st = actor("ST-CN-lhsr")
    assert form.form_for(ctx, st, cases["other"], "accept", "zh")[0] is None
    pending, status = form.send_form(ctx, st, cases["other"], None, "accept", {}, "zh")
    assert pending is None and status == "没有这个工单。"
    assert form.send_form(ctx, st, cases["assisted"], None, "resolve",
                          {"note": "x"}, "zh")[0] is None
    assert consume_all(broker, f"{prefix}commands", 1, timeout_s=2) == []


# -- straight to Dash ---------------------------------------------------------------

def test_posting_the_detail_callback_for_another_departments_case_returns_none_of_it(
        dash_ctx, cases):
    app = create_app(dash_ctx)
    client = app.server.test_client()
    sign_in(client, "ST-CN-lhsr")
    other = case_reads.case_row(dash_ctx.store, dash_ctx.scope(
        dash_ctx.directory.staff.get("CC-01")), cases["other"])
    response = post_callback(client, app, page.SUMMARY, {
        f"{page.CASE_ID}.data": cases["other"], f"{ids.TICK}.n_intervals": 1,
        f"{ids.LANGUAGE}.value": "zh"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "没有这个工单" in json.loads(body)["response"][page.TITLE]["children"]
    for secret in (cases["other"], other["title"], other["grid_id"]):
        assert secret not in body
    # The same post for the department's own case does show it: the test would see a leak.
    mine = post_callback(client, app, page.SUMMARY, {
        f"{page.CASE_ID}.data": cases["own"], f"{ids.LANGUAGE}.value": "zh"})
    assert cases["own"] in mine.get_data(as_text=True)


def test_posting_an_action_for_another_departments_case_sends_nothing(
        acting_ctx, broker, cases):
    ctx, prefix = acting_ctx
    app = create_app(ctx)
    client = app.server.test_client()
    sign_in(client, "ST-CN-lhsr")
    forged = {f"{form.SEND}.n_clicks": 1, f"{page.CASE_ID}.data": cases["other"],
              f"{page.SEEN}.data": {"case_id": cases["other"], "seq": 1},
              f"{form.CHOSEN}.data": "accept", f"{ids.LANGUAGE}.value": "zh"}
    response = post_callback(client, app, page.PENDING, forged)
    assert response.status_code == 200
    answer = json.loads(response.get_data(as_text=True))["response"]
    assert answer[page.PENDING]["data"] is None
    assert cases["other"] not in response.get_data(as_text=True)
    assert consume_all(broker, f"{prefix}commands", 1, timeout_s=2) == []
    # The same post on the department's own case is sent: the forged one was refused, not lost.
    own = post_callback(client, app, page.PENDING, {
        **forged, f"{page.CASE_ID}.data": cases["own"], f"{page.SEEN}.data": None,
        f"{form.CHOSEN}.data": "comment", f"{form.NOTE}.value": "现场已设警示"})
    sent = json.loads(own.get_data(as_text=True))["response"][page.PENDING]["data"]
    [record] = consume_all(broker, f"{prefix}commands", 1, timeout_s=20)
    assert json.loads(record.value)["command_id"] == sent["command_id"]
