"""The command map in a real browser: signs in, draws the city, follows the zoom to finer
cells, explains an alert, switches to English; nothing leaves loopback."""

from __future__ import annotations

import json

from h3.api import basic_int as h3i

from onegrid.dashboard.pages import command_map as page_ids
from tests.browser.conftest import login, screenshot, watch


def text_of(element_id: str) -> str:
    """Return a JS expression: the element's text, or "" while it is not on the page."""
    return f"((document.getElementById('{element_id}') || {{}}).textContent || '')"


def hex_resolutions(responses: list[dict]) -> list[int]:
    """Return the H3 resolution of the polygons each map response sent (in order)."""
    out = []
    for body in responses:
        data = (body.get("response") or {}).get(page_ids.HEX, {}).get("data")
        if data and data.get("features"):
            out.append(h3i.get_resolution(h3i.str_to_int(data["features"][0]["properties"]["id"])))
    return out


def test_the_command_map_draws_follows_the_zoom_and_explains_an_alert(page, serve, dash_ctx):
    url = serve(dash_ctx)
    seen = watch(page, url)
    responses: list[dict] = []

    def keep(response):
        if "_dash-update-component" in response.url and response.status == 200:
            body = response.text()
            if page_ids.HEX in body:
                responses.append(json.loads(body))
    page.on("response", keep)
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, url, "CC-01", path="/map")
    page.wait_for_selector(f"#{page_ids.MAP} canvas", timeout=30_000)
    page.wait_for_function(f"{text_of(page_ids.LEGEND)}.includes('事件数')", timeout=30_000)
    page.wait_for_function(f"{text_of(page_ids.QUEUE)}.length > 0", timeout=30_000)
    assert hex_resolutions(responses)[0] == 7  # the whole city: res 7
    screenshot(page, "map.png")

    # Zooming in sends finer polygons (res 9 from leaflet zoom 13).
    page.focus(f"#{page_ids.MAP}")
    for _ in range(5):
        page.keyboard.press("Equal")
        page.wait_for_timeout(300)
    page.wait_for_timeout(3000)
    assert max(hex_resolutions(responses)) >= 9, hex_resolutions(responses)

    # Picking the first alert of the queue and asking for details explains why it fired.
    page.locator(f"#{page_ids.QUEUE} td[data-dash-column=rule]").first.click()
    page.wait_for_function(f"{text_of(page_ids.PICKED)}.includes('已选')", timeout=15_000)
    page.click(f"#{page_ids.DETAILS_BUTTON}")
    page.wait_for_function(f"{text_of(page_ids.DETAIL)}.includes('为什么告警')", timeout=15_000)
    assert "阈值" in page.text_content(f"#{page_ids.DETAIL}")

    page.get_by_text("English", exact=True).click()
    page.wait_for_function(f"{text_of('shell-nav')}.includes('City overview')", timeout=15_000)
    page.wait_for_function(f"{text_of(page_ids.LEGEND)}.includes('Events')", timeout=15_000)
    screenshot(page, "map_en.png")

    assert "Traceback" not in page.text_content("body")
    assert (page.text_content(f"#{page_ids.ERROR}") or "") == ""
    assert seen["errors"] == [] and seen["outside"] == []
