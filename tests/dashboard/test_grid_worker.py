"""The grid worker's phone page: tasks of my grid only, the buttons the engine allows,
resolve with a note and a photo, verify a neighbour's case, a patrol report at my place."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
from types import SimpleNamespace

import pytest
from dash import no_update

from onegrid.alerts.cases import WORKING, CaseError
from onegrid.alerts.opening import case_id_for
from onegrid.dashboard import create_app, ids, media, patrol, tasks
from onegrid.dashboard.pages import grid_worker as page
from onegrid.dashboard.queries import worker as reads
from onegrid.dashboard.views.worker import ACT, W
from onegrid.geo.store import Store
from onegrid.streams.sender import Sender
from tests.dashboard.conftest import DEMO_END

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
       b"5\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


class Producer:
    """Stands in for KafkaProducer: keeps what a real Sender sends (after its contract check)."""

    def __init__(self):
        self.sent: list[tuple[str, bytes, dict]] = []

    def send(self, topic, key, value):
        self.sent.append((topic, key, json.loads(value)))
        return SimpleNamespace(get=lambda timeout: None)

    def close(self, timeout=None):
        pass


@pytest.fixture
def acting(dash_ctx, tmp_path):
    """The demo day with a Sender whose messages are kept, and a media folder."""
    producer = Producer()
    ctx = dataclasses.replace(dash_ctx, sender=Sender(producer, "t."), _scopes={},
                              media_dir=tmp_path / "media")
    return ctx, producer.sent


@pytest.fixture(scope="module")
def busy(dash_ctx):
    """The worker of the grid with the most dispatched cases, and that grid."""
    grid = dash_ctx.store.scalar("SELECT grid_id FROM cases WHERE state = 'dispatched' AND "
                                 "grid_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 "
                                 "LIMIT 1")
    return dash_ctx.directory.staff.by_grid[grid][0], grid


def texts(component) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


def layout_ids(component) -> set[str]:
    """Return every string id in a layout tree (tabs, loading wrappers and all)."""
    found, todo = set(), [component]
    while todo:
        c = todo.pop()
        if isinstance(c, list | tuple):
            todo += list(c)
            continue
        if isinstance(getattr(c, "id", None), str):
            found.add(c.id)
        kids = getattr(c, "children", None)
        if kids is not None and not isinstance(kids, str):
            todo.append(kids)
    return found


def cards(content) -> list:
    return [c for c in content if getattr(c, "className", "").startswith("og-task")]


def buttons(card) -> dict[str, dict]:
    found = {}
    for part in card.children:
        if getattr(part, "className", "") == "og-w-actions":
            found = {b.id["action"]: b.id for b in part.children}
    return found


def test_every_id_the_callbacks_use_is_in_the_layout(dash_ctx, actor):
    found = layout_ids(page.layout(dash_ctx, actor("GW-00001"), "zh", "/worker"))
    assert set(page.IDS) <= found, set(page.IDS) - found


def test_the_page_speaks_both_languages_with_the_same_words():
    assert W.keys("zh") == W.keys("en")


def test_a_grid_worker_sees_only_the_open_cases_of_their_own_grid(dash_ctx, actor, busy):
    worker, grid = busy
    rows = reads.tasks(dash_ctx.store, dash_ctx.scope(actor(worker)), DEMO_END)
    assert rows and {r["grid_id"] for r in rows} == {grid}
    assert {r["state"] for r in rows} <= {str(s) for s in WORKING}
    stored = dash_ctx.store.scalar(
        "SELECT count(*) FROM cases WHERE grid_id = ? AND state IN (SELECT unnest(?))",
        [grid, list(reads.TASK_STATES)])
    assert len(rows) == stored
    # GW-00002 works the neighbouring grid of the same community: none of these are theirs.
    other = reads.tasks(dash_ctx.store, dash_ctx.scope(actor("GW-00002")), DEMO_END)
    assert not {r["case_id"] for r in rows} & {r["case_id"] for r in other}
    assert all(r["grid_id"] == "CN-01-01-02" for r in other)


def test_a_grid_chief_sees_the_open_cases_of_the_whole_community(dash_ctx, actor, busy):
    community = actor(busy[0]).community_id
    chief = next(a for a in dash_ctx.directory.staff.actors.values()
                 if a.is_chief and a.region_id == community)
    rows = reads.tasks(dash_ctx.store, dash_ctx.scope(chief), DEMO_END)
    assert rows and {r["community_id"] for r in rows} == {community}


def test_tasks_come_overdue_first_then_most_severe_then_newest(dash_ctx, actor, busy):
    rows = reads.tasks(dash_ctx.store, dash_ctx.scope(actor(busy[0])), DEMO_END)
    keys = [(not r["overdue"], -(r["severity"] or 0), -r["created_at"].timestamp())
            for r in rows]
    assert keys == sorted(keys)
    assert any(r["overdue"] for r in rows) and any(r["address"] for r in rows)


def test_a_card_shows_title_category_state_address_and_the_time_limit(dash_ctx, actor, busy):
    content, _ = tasks.task_update(dash_ctx, actor(busy[0]), "zh", None)
    rows = reads.tasks(dash_ctx.store, dash_ctx.scope(actor(busy[0])), DEMO_END)
    late = next(r for r in rows if r["overdue"])
    card = next(c for c in cards(content) if late["case_id"] in texts(c))
    words = texts(card)
    assert late["title"] in words and late["address"] in words
    assert dash_ctx.registry.categories[late["category"]].name_zh in words
    assert "超期" in words and "og-w-due og-overdue" in words and "og-w-late" in card.className
    assert f"在办 {len(rows)} 件" in texts(content[0])


def test_a_card_has_only_the_buttons_the_engine_would_allow(acting, actor, busy):
    ctx, _ = acting
    content, _ = tasks.task_update(ctx, actor(busy[0]), "en", None)
    rows = {r["case_id"]: r for r in reads.tasks(ctx.store, ctx.scope(actor(busy[0])),
                                                 DEMO_END)}
    expected = {"dispatched": {"accept"}, "reopened": {"accept"}, "accepted": {"start", "resolve"},
                "in_progress": {"resolve"}}
    seen = set()
    for card in cards(content):
        found = buttons(card)
        case = rows[next(iter(found.values()))["id"]] if found else None
        if case is None:
            continue
        seen.add(case["state"])
        assert set(found) == expected[case["state"]], case["state"]
        assert all(b["seq"] == case["seq"] for b in found.values())
    assert {"dispatched", "accepted", "in_progress"} <= seen
    # A node without Kafka offers no buttons at all (the banner says why).
    read_only, _ = tasks.task_update(dataclasses.replace(ctx, sender=None), actor(busy[0]), "en",
                                     None)
    assert not any(buttons(c) for c in cards(read_only))


def test_the_list_is_sent_only_when_it_changed(dash_ctx, actor, busy):
    content, digest = tasks.task_update(dash_ctx, actor(busy[0]), "zh", None)
    again, same = tasks.task_update(dash_ctx, actor(busy[0]), "zh", digest)
    assert content and again is no_update and same == digest
    english, _ = tasks.task_update(dash_ctx, actor(busy[0]), "en", digest)
    assert english is not no_update


def test_a_new_task_appears_on_the_next_tick(dash_ctx, demo_db, tmp_path, actor, busy):
    copy = tmp_path / "live.duckdb"
    shutil.copy(demo_db, copy)
    with Store(copy) as store:
        ctx = dataclasses.replace(dash_ctx, store=store, _scopes={})
        worker = actor(busy[0])
        _, digest = tasks.task_update(ctx, worker, "zh", None)
        store.cursor().execute(
            "INSERT INTO cases SELECT * REPLACE ('C-NEWTASK00001' AS case_id, 'dispatched' AS "
            "state, '新派工单' AS title, 0 AS seq) FROM cases WHERE grid_id = ? LIMIT 1",
            [busy[1]])
        content, new = tasks.task_update(ctx, worker, "zh", digest)
    assert new != digest and "C-NEWTASK00001" in texts(content) and "新派工单" in texts(content)


def _case(ctx, grid, state):
    return ctx.store.query("SELECT case_id, seq FROM cases WHERE grid_id = ? AND state = ? "
                           "ORDER BY case_id LIMIT 1", [grid, state]).to_pylist()[0]


def test_accept_sends_the_command_with_the_seq_the_card_showed(acting, actor, busy):
    ctx, sent = acting
    case = _case(ctx, busy[1], "dispatched")
    button = {"type": ACT, "id": case["case_id"], "action": "accept", "seq": case["seq"]}
    pending, words, _, target = tasks.press(ctx, actor(busy[0]), button, "zh")
    assert target is no_update and "已发送" in words and case["case_id"] in words
    ((topic, key, message),) = sent
    assert topic == "t.commands" and key == case["case_id"].encode()
    assert (message["action"], message["case_id"], message["actor"], message["expected_seq"]) \
        == ("accept", case["case_id"], busy[0], case["seq"])
    assert pending["command_id"] == message["command_id"] and pending["action"] == "accept"


def test_a_card_shown_before_the_case_moved_on_is_refused_before_sending(acting, actor, busy):
    ctx, sent = acting
    case = _case(ctx, busy[1], "dispatched")
    button = {"type": ACT, "id": case["case_id"], "action": "accept", "seq": case["seq"] - 1}
    pending, words, css, _ = tasks.press(ctx, actor(busy[0]), button, "zh")
    assert pending is no_update and "og-refused" in css and "已被他人处理" in words
    assert sent == []


def test_an_action_the_state_does_not_allow_is_refused_before_sending(acting, actor, busy):
    ctx, sent = acting
    case = _case(ctx, busy[1], "dispatched")
    button = {"type": ACT, "id": case["case_id"], "action": "start", "seq": case["seq"]}
    _, words, css, _ = tasks.press(ctx, actor(busy[0]), button, "en")
    assert "og-refused" in css and "state does not allow" in words and sent == []


def test_resolve_opens_the_sheet_needs_a_note_and_sends_the_photo(acting, actor, busy):
    ctx, sent = acting
    worker = actor(busy[0])
    case = _case(ctx, busy[1], "in_progress")
    button = {"type": ACT, "id": case["case_id"], "action": "resolve", "seq": case["seq"]}
    _, _, _, target = tasks.press(ctx, worker, button, "zh")
    assert target == {"case_id": case["case_id"], "action": "resolve", "seq": case["seq"]}
    hidden, title, label, *_rest, confirm_label = tasks.sheet_for(ctx, worker, target, "zh")
    assert not hidden and case["case_id"] in title and "必填" in label
    assert confirm_label == "确认办结"
    assert tasks.sheet_check(ctx, worker, target, "  ", "zh")[2] is True
    assert tasks.confirm(ctx, worker, target, "", None, "zh")[0] is no_update and sent == []
    assert tasks.sheet_check(ctx, worker, target, "已清理", "zh")[2] is False
    name, shown = tasks.upload_photo(ctx, data_url(PNG), "zh")
    assert media.is_photo_name(name) and (ctx.media_dir / name).read_bytes() == PNG
    assert f"/media/{name}" in texts(shown)
    pending, _, _, closed = tasks.confirm(ctx, worker, target, "已清理，恢复通行", name, "zh")
    ((_, _, message),) = sent
    assert closed is None and pending["command_id"] == message["command_id"]
    assert (message["action"], message["note"], message["photo_url"], message["expected_seq"]) \
        == ("resolve", "已清理，恢复通行", f"/media/{name}", case["seq"])


def test_a_photo_that_is_not_an_image_or_too_big_or_unkept_is_refused(acting, dash_ctx):
    ctx, _ = acting
    assert tasks.upload_photo(ctx, data_url(b"<svg onload=x>", "image/png"), "en")[0] is None
    assert "not a usable image" in texts(tasks.upload_photo(ctx, data_url(b"<svg>"), "en")[1])
    assert tasks.upload_photo(ctx, data_url(b"%PDF-1.4", "application/pdf"), "en")[0] is None
    big = data_url(PNG + b"\0" * media.MAX_PHOTO_BYTES)
    assert "over 5 MB" in texts(tasks.upload_photo(ctx, big, "en")[1])
    name, shown = tasks.upload_photo(dash_ctx, data_url(PNG), "en")  # media_dir None
    assert name is None and "keeps no photos" in texts(shown)
    assert not ctx.media_dir.exists() or not any(ctx.media_dir.iterdir())
    # A photo name the client made up is never sent as a URL.
    assert media.photo_url(ctx.media_dir, "../../etc/passwd") is None
    assert media.photo_url(ctx.media_dir, "0" * 32 + ".png") is None


def test_a_case_of_another_grid_gets_nothing_and_sends_nothing(acting, actor, busy):
    ctx, sent = acting
    case = _case(ctx, busy[1], "dispatched")
    button = {"type": ACT, "id": case["case_id"], "action": "accept", "seq": case["seq"]}
    pending, words, _, target = tasks.press(ctx, actor("GW-00001"), button, "en")
    assert pending is no_update and target is no_update and words == "Refused: No such case; " \
        "refresh (there is no such case; refresh the list)"
    target = {"case_id": case["case_id"], "action": "resolve", "seq": case["seq"]}
    assert tasks.sheet_for(ctx, actor("GW-00001"), target, "en")[:2] == (True, "")
    assert tasks.confirm(ctx, actor("GW-00001"), target, "done", None, "en")[0] is no_update
    assert sent == []


def _community_with_resolved(ctx):
    return ctx.store.query("SELECT community_id, grid_id, case_id, handler FROM cases "
                           "WHERE state = 'resolved' AND grid_id IS NOT NULL "
                           "ORDER BY community_id, case_id LIMIT 1").to_pylist()[0]


def test_to_verify_lists_the_communitys_resolved_cases_handled_by_others(acting, actor):
    ctx, _ = acting
    row = _community_with_resolved(ctx)
    neighbour = next(a for a in ctx.directory.staff.actors.values()
                     if a.community_id == row["community_id"] and not a.is_chief)
    rows = reads.to_verify(ctx.store, ctx.scope(neighbour))
    assert row["case_id"] in {r["case_id"] for r in rows}
    assert {r["state"] for r in rows} == {"resolved"}
    assert {r["community_id"] for r in rows} == {row["community_id"]}
    content, _ = tasks.verify_update(ctx, neighbour, "zh", None)
    card = next(c for c in cards(content) if row["case_id"] in texts(c))
    assert set(buttons(card)) == {"verify"} and row["handler"] in texts(card)
    # A worker of another community sees none of them and may not verify them.
    assert row["case_id"] not in {r["case_id"] for r in reads.to_verify(
        ctx.store, ctx.scope(actor("GW-00001")))}


def test_nobody_verifies_a_case_they_handled(acting, actor):
    ctx, _ = acting
    row = _community_with_resolved(ctx)
    neighbour = next(a for a in ctx.directory.staff.actors.values()
                     if a.community_id == row["community_id"] and not a.is_chief)
    case = ctx.store.query("SELECT * FROM cases WHERE case_id = ?",
                           [row["case_id"]]).to_pylist()[0]
    assert tasks.check(ctx, neighbour, case, "verify", case["seq"]) is None
    mine = case | {"handler": neighbour.actor_id}
    assert tasks.check(ctx, neighbour, mine, "verify", case["seq"]).code == CaseError.SELF_VERIFY
    assert not tasks.allowed_actions(ctx, neighbour, mine, ("verify",))


def test_verify_sends_the_command_with_an_optional_note(acting, actor):
    ctx, sent = acting
    row = _community_with_resolved(ctx)
    neighbour = next(a for a in ctx.directory.staff.actors.values()
                     if a.community_id == row["community_id"] and not a.is_chief)
    seq = ctx.store.scalar("SELECT seq FROM cases WHERE case_id = ?", [row["case_id"]])
    target = {"case_id": row["case_id"], "action": "verify", "seq": seq}
    assert tasks.sheet_check(ctx, neighbour, target, "", "en")[2] is False
    pending, _, _, closed = tasks.confirm(ctx, neighbour, target, "", None, "en")
    ((_, _, message),) = sent
    assert (message["action"], message["case_id"], message.get("note")) == (
        "verify", row["case_id"], None)
    assert closed is None and pending["action"] == "verify"


def test_the_status_line_follows_the_engines_answer(acting, actor):
    ctx, _ = acting
    applied = ctx.store.query("SELECT command_id, case_id FROM case_commands WHERE outcome = "
                              "'applied' AND action = 'accept' LIMIT 1").to_pylist()[0]
    waiting = {"command_id": applied["command_id"], "action": "accept",
               "sent_at": DEMO_END.timestamp(), "case_id": applied["case_id"]}
    words, css, keep = tasks.follow_up(ctx, "zh", waiting)
    assert words == f"{applied['case_id']} · 已处理：签收" and "og-applied" in css and keep is None
    unknown = waiting | {"command_id": "cmd-not-yet"}
    words, _, keep = tasks.follow_up(ctx, "zh", unknown)
    assert "等待处理" in words and keep == unknown


# -- patrol reports ----------------------------------------------------------------------

def test_a_report_goes_to_the_incident_topic_at_the_phones_location(acting, actor):
    ctx, sent = acting
    worker = actor("GW-00001")
    lat, lng = patrol.home_centre(ctx.regions, worker)
    name, _ = tasks.upload_photo(ctx, data_url(PNG), "zh")
    pending, words, css = patrol.send_report(
        ctx, worker, "zh", "road_damage", "人行道塌陷约1平方米", 3, "环球港西侧", name,
        {"lat": lat + 0.0002, "lng": lng - 0.0001, "accuracy": 12})
    ((topic, key, message),) = sent
    assert topic == "t.incident" and key == b"GW-00001"
    assert (message["category"], message["source"], message["severity"], message["address"]) \
        == ("road_damage", "patrol", 3, "环球港西侧")
    assert (message["lat"], message["lng"]) == (lat + 0.0002, lng - 0.0001)
    assert message["photo_url"] == f"/media/{name}" and message["reporter"]["name"] == worker.name
    assert pending["report_id"] == message["id"] and message["id"] in words
    assert "og-refused" not in css


def test_without_a_location_the_report_is_placed_at_the_grids_centre(acting, actor):
    ctx, sent = acting
    worker = actor("GW-00001")
    for denied in (None, {"error": "denied"}, {"lat": "nan", "lng": 1}, {"lat": 95, "lng": 1}):
        fields, why = patrol.report_fields(ctx, worker, "road_damage", "", None, "", None, denied)
        assert why is None and patrol.grid_at(ctx.regions, fields["lat"], fields["lng"]) == \
            "CN-01-01-01"
        assert fields["severity"] == ctx.registry.categories["road_damage"].default_severity
    assert "中心位置" in patrol.location_text(ctx, worker, {"error": "denied"}, "zh")
    assert "拒绝" in patrol.location_text(ctx, worker, {"error": "denied"}, "zh")
    lat, lng = patrol.home_centre(ctx.regions, worker)
    here = patrol.location_text(ctx, worker, {"lat": lat, "lng": lng, "accuracy": 8}, "en")
    assert "±8 m" in here and "not your grid" not in here
    assert "outside" in patrol.location_text(ctx, worker, {"lat": 0.0, "lng": 0.0}, "en")
    assert sent == []
    _, words, _ = patrol.send_report(ctx, worker, "zh", "road_damage", "", 2, "", None,
                                     {"error": "unavailable"})
    ((_, _, message),) = sent
    assert (message["lat"], message["lng"]) == (lat, lng) and "按网格中心" in words


def test_a_grid_chief_without_a_location_reports_from_the_communitys_centre(dash_ctx):
    chief = next(a for a in dash_ctx.directory.staff.actors.values() if a.is_chief)
    lat, lng = patrol.home_centre(dash_ctx.regions, chief)
    grid = patrol.grid_at(dash_ctx.regions, lat, lng)
    assert dash_ctx.regions.levels["grid"].at[grid, "parent_id"] == chief.region_id


def test_a_report_with_no_or_an_unknown_category_is_refused_before_sending(acting, actor):
    ctx, sent = acting
    worker = actor("GW-00001")
    assert patrol.send_report(ctx, worker, "zh", None, "x", 2, "", None, None)[1] == "请选择事项。"
    _, words, css = patrol.send_report(ctx, worker, "en", "ufo", "x", 2, "", None, None)
    assert "No such category" in words and "og-refused" in css and sent == []
    read_only = dataclasses.replace(ctx, sender=None)
    assert patrol.send_report(read_only, worker, "en", "road_damage", "", 2, "", None,
                              None)[0] is None


def test_the_report_status_names_the_case_it_opened_or_joined(dash_ctx, actor):
    rows = dash_ctx.store.query("SELECT s.source_id, s.case_id, c.grid_id FROM case_sources s "
                                "JOIN cases c USING (case_id) WHERE s.kind = 'report' AND "
                                "c.grid_id IS NOT NULL ORDER BY s.source_id").to_pylist()
    opened = next(r for r in rows if r["case_id"] == case_id_for("report", r["source_id"]))
    joined = next(r for r in rows if r["case_id"] != case_id_for("report", r["source_id"]))
    for row, word in ((opened, "新立工单"), (joined, "并入工单")):
        worker = actor(dash_ctx.directory.staff.by_grid[row["grid_id"]][0])
        sent = {"report_id": row["source_id"], "sent_at": DEMO_END.timestamp()}
        words, _, keep = patrol.report_status(dash_ctx, worker, "zh", sent)
        assert word in words and row["case_id"] in words and keep is None
        # Someone else's grid: the case is not shown, only "waiting".
        words, _, keep = patrol.report_status(dash_ctx, actor("GW-00002"), "zh", sent)
        assert row["case_id"] not in words and keep is not None


# -- posted straight to Dash ------------------------------------------------------------

def _signed_in(ctx, user):
    app = create_app(ctx)
    client = app.server.test_client()
    assert client.post("/login", data={"user": user, "password": "onegrid"}).status_code == 302
    return app, client


def _stringify(component_id) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def _post(app, client, first_output: str, input_id, value, states=()):
    """Post, as the page would, the callback writing `first_output` whose first input is
    `input_id` (a dict for a pattern-matching button) with `value`; the other inputs are
    None, the states `states` in order."""
    pattern = {k: ["ALL"] if k != "type" else v for k, v in input_id.items()} \
        if isinstance(input_id, dict) else input_id
    key, cb = next((k, v) for k, v in app.callback_map.items()
                   if k.strip(".").split("@")[0].split("...")[0] == first_output
                   and v["inputs"][0]["id"] == _stringify(pattern))
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
               for o in key.strip(".").split("...")]
    first = {"id": input_id, "property": cb["inputs"][0]["property"], "value": value}
    inputs = [[first] if isinstance(input_id, dict) else first]
    inputs += [{"id": i["id"], "property": i["property"], "value": None}
               for i in cb["inputs"][1:]]
    values = [*states, *[None] * (len(cb["state"]) - len(states))]
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs,
            "state": [{"id": s["id"], "property": s["property"], "value": v}
                      for s, v in zip(cb["state"], values, strict=True)],
            "changedPropIds": [f"{_stringify(input_id)}.{first['property']}"]}
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def answer(response) -> str:
    """Return a callback's answer as readable text (Dash escapes non-ASCII in its JSON)."""
    raw = response.get_data(as_text=True)
    return json.dumps(json.loads(raw), ensure_ascii=False) if raw else ""


def test_a_worker_posting_another_grids_case_to_dash_gets_no_data_and_sends_nothing(
        acting, busy):
    ctx, sent = acting
    app, client = _signed_in(ctx, "GW-00001")
    case = ctx.store.query("SELECT case_id, seq, title FROM cases WHERE grid_id = ? AND state = "
                           "'dispatched' LIMIT 1", [busy[1]]).to_pylist()[0]
    button = {"action": "accept", "id": case["case_id"], "seq": case["seq"], "type": ACT}
    response = _post(app, client, f"{page.PENDING}.data", button, 1, ["en"])
    body = answer(response)
    assert response.status_code == 200 and "No such case" in body
    assert case["title"] not in body and busy[1] not in body
    target = {"case_id": case["case_id"], "action": "resolve", "seq": case["seq"]}
    response = _post(app, client, f"{page.PENDING}.data", page.CONFIRM, 1,
                     [target, "done", None, "en"])
    assert case["title"] not in answer(response)
    response = _post(app, client, f"{page.SHEET}.hidden", page.TARGET, target, ["en"])
    sheet = json.loads(answer(response))["response"]
    assert sheet[page.SHEET]["hidden"] is True and case["title"] not in answer(response)
    # The task list this worker gets holds their grid's cases and never the other grid's.
    response = _post(app, client, f"{page.TASKS}.children", ids.TICK, 1)
    own = reads.tasks(ctx.store, ctx.scope(ctx.directory.staff.get("GW-00001")), DEMO_END)
    assert own and all(r["case_id"] in answer(response) for r in own)
    assert case["case_id"] not in answer(response)
    assert sent == []


def test_another_role_posting_to_the_workers_callbacks_gets_nothing(acting, busy):
    ctx, sent = acting
    app, client = _signed_in(ctx, "CC-01")
    case = ctx.store.query("SELECT case_id, seq FROM cases WHERE grid_id = ? AND state = "
                           "'dispatched' LIMIT 1", [busy[1]]).to_pylist()[0]
    button = {"action": "accept", "id": case["case_id"], "seq": case["seq"], "type": ACT}
    assert _post(app, client, f"{page.PENDING}.data", button, 1, ["en"]).status_code == 204
    assert sent == []


def test_a_failing_action_shows_a_sentence_not_a_traceback(acting, busy, monkeypatch):
    ctx, sent = acting
    app, client = _signed_in(ctx, busy[0])

    def broken(*args):
        raise RuntimeError("store went away")
    monkeypatch.setattr(tasks, "press", broken)
    case = _case(ctx, busy[1], "dispatched")
    button = {"action": "accept", "id": case["case_id"], "seq": case["seq"], "type": ACT}
    body = _post(app, client, f"{page.PENDING}.data", button, 1, ["zh"]).get_data(as_text=True)
    status = json.loads(body)["response"][page.ACTION_STATUS]
    assert status["children"] == "数据暂时无法读取，稍后自动重试。" and "og-refused" in \
        status["className"]
    assert "Traceback" not in body and "store went away" not in body
    assert sent == []


def test_photos_are_served_only_to_signed_in_users_and_only_by_their_name(acting, dash_ctx):
    ctx, _ = acting
    name = media.save_photo(ctx.media_dir, data_url(PNG))
    app = create_app(ctx)
    anonymous = app.server.test_client()
    assert anonymous.get(f"/media/{name}").status_code == 302
    _, client = _signed_in(ctx, "GW-00002")
    response = client.get(f"/media/{name}")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert client.get("/media/secret.png").status_code == 404
    escaped = client.get("/media/..%2F..%2Fdemo.duckdb")  # falls through to the Dash page
    assert not escaped.headers["Content-Type"].startswith("image/")
    assert client.get("/media/" + "a" * 32 + ".png").status_code == 404
