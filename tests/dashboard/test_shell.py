"""The shell: sign-in is required everywhere, each role sees its own pages, no traceback."""

from __future__ import annotations

import json

import pytest

from onegrid.dashboard import app as shell
from onegrid.dashboard import create_app, ids
from onegrid.dashboard.i18n import COMMON
from onegrid.dashboard.pages import PAGES


@pytest.fixture(scope="module")
def client(dash_ctx):
    app = create_app(dash_ctx)
    return app.server.test_client()


def sign_in(client, user="CC-01", password="onegrid", lang="zh"):
    return client.post("/login", data={"user": user, "password": password, "lang": lang})


def test_every_page_asks_for_a_sign_in_first(client):
    for path in ("/", "/map", "/dispatch", "/_dash-layout"):
        response = client.get(path)
        assert response.status_code in (302, 401), path
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/login")


def test_a_callback_posted_without_a_session_is_refused_before_it_runs(client):
    body = {"output": f"{ids.PAGE}.children", "outputs": {"id": ids.PAGE, "property": "children"},
            "inputs": [{"id": ids.URL, "property": "pathname", "value": "/map"}],
            "changedPropIds": [f"{ids.URL}.pathname"]}
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 401


def test_a_wrong_password_is_refused_and_the_page_says_so(client):
    response = sign_in(client, password="wrong")
    assert response.status_code == 401
    assert "账号或密码不正确" in response.get_data(as_text=True)
    assert sign_in(client, user="nobody").status_code == 401


def test_signing_in_lands_on_the_role_home_page(dash_ctx):
    client = create_app(dash_ctx).server.test_client()
    assert sign_in(client, "CC-01").headers["Location"] == "/map"
    client = create_app(dash_ctx).server.test_client()
    assert sign_in(client, "GW-00001").headers["Location"] == "/worker"


def test_login_redirects_only_to_local_paths(dash_ctx):
    client = create_app(dash_ctx).server.test_client()
    response = client.post("/login", data={"user": "CC-01", "password": "onegrid",
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/map"


def test_each_role_sees_only_its_pages_in_the_navigation(dash_ctx, actor):
    def nav(actor_id):
        return {link.href for link in shell.nav_links(actor(actor_id), "zh", "/")}
    assert nav("CC-01") == {"/map", "/dispatch", "/environment", "/supervision"}
    assert nav("GW-00001") == {"/worker"}
    assert nav("EO-01") == {"/map", "/environment"}
    assert "/environment" not in nav("ST-CN-lhsr")


def test_a_page_the_role_may_not_open_shows_a_sentence_not_the_page(dash_ctx, actor):
    content, *_ = shell.render(dash_ctx, actor("GW-00001"), "/supervision", "zh")
    assert content.children == COMMON("zh", "not_allowed_page")
    content, *_ = shell.render(dash_ctx, actor("CC-01"), "/nowhere", "en")
    assert content.children == COMMON("en", "not_found_page")


def test_the_shell_speaks_the_chosen_language(dash_ctx, actor):
    _, nav, user, sign_out, product, city, banner = shell.render(dash_ctx, actor("CC-01"),
                                                                 "/map", "en")
    assert banner.startswith("This node has no Kafka")
    assert sign_out == "Sign out" and product.startswith("One network")
    assert city == dash_ctx.registry.name_en and "command centre" in user
    assert nav[0].children == "City overview"


def test_every_page_is_served_by_exactly_one_path():
    paths = [p.path for p in PAGES]
    assert len(paths) == len(set(paths))
    for page in PAGES:
        assert shell.page_for(page.path if not page.prefix else page.path + "x") is page


def test_app_serves_no_debug_tools_and_no_traceback(client):
    sign_in(client)
    page = client.get("/map").get_data(as_text=True)
    assert "_dash-global-error-container" not in page and "Traceback" not in page


def test_only_callbacks_listening_to_the_live_tick_are_paced_each_with_its_own_flag():
    from dash import Dash, Input, State

    from onegrid.dashboard import ids, pacing

    app = Dash(__name__)
    assert pacing.paced(app, [Input("elsewhere", "value")]) == {}
    first = pacing.paced(app, [Input(ids.TICK, "n_intervals"), State("x", "data")])
    second = pacing.paced(app, [Input("y", "value"), Input(ids.TICK, "n_intervals")])
    [(flag, running, done)] = first["running"]
    assert (running, done) == (True, False)
    assert flag.component_id != second["running"][0][0].component_id
    in_shell = {c.id for c in pacing.shell_parts(app, 2000)}
    assert {pacing.CLOCK, ids.TICK, flag.component_id} <= in_shell
