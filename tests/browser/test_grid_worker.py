"""The grid worker's phone page in a real browser at phone size: see my tasks, accept one,
file a patrol report at the phone's location (geolocation granted)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from onegrid.dashboard.patrol import home_centre
from tests.browser.conftest import login, screenshot, watch
from tests.dashboard.test_grid_worker import PNG
from tests.streams.kafka_helpers import consume_all

PHONE = {"width": 390, "height": 844}


@pytest.mark.broker
@pytest.mark.slow
def test_a_grid_worker_accepts_a_task_and_files_a_patrol_report_on_the_phone(
        browser, serve, acting_ctx, broker, tmp_path):
    ctx, prefix = acting_ctx
    ctx = dataclasses.replace(ctx, media_dir=tmp_path / "media", _scopes={})
    # The grid with the most cases waiting to be signed for, and its newest one.
    case = ctx.store.query(
        "SELECT case_id, seq, grid_id FROM cases WHERE state = 'dispatched' AND grid_id = ("
        "  SELECT grid_id FROM cases WHERE state = 'dispatched' AND grid_id IS NOT NULL "
        "  GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) "
        "ORDER BY created_at DESC, case_id LIMIT 1").to_pylist()[0]
    worker = ctx.directory.staff.get(ctx.directory.staff.by_grid[case["grid_id"]][0])
    lat, lng = home_centre(ctx.regions, worker)
    lat, lng = round(lat + 0.0003, 6), round(lng - 0.0002, 6)
    base = serve(ctx)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True,
                                  geolocation={"latitude": lat, "longitude": lng,
                                               "accuracy": 15},
                                  permissions=["geolocation"])
    page = context.new_page()
    try:
        seen = watch(page, base)
        login(page, base, worker.actor_id, path="/worker")
        card = page.locator(".og-task", has_text=case["case_id"])
        card.wait_for(timeout=20_000)
        assert page.locator(".og-task").count() > 1
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "worker.png")

        card.locator("button.og-w-act-accept").click()
        page.wait_for_function(
            "document.querySelector('#worker-action-status').innerText.includes('已发送')",
            timeout=15_000)
        (record,) = consume_all(broker, prefix + "commands", 1, timeout_s=20)
        command = json.loads(record.value)
        assert (command["action"], command["case_id"], command["actor"],
                command["expected_seq"]) == ("accept", case["case_id"], worker.actor_id,
                                             case["seq"])

        page.get_by_text("巡查上报", exact=True).click()
        page.wait_for_function(
            f"document.querySelector('#worker-location-text').innerText.includes('{lat:.5f}')",
            timeout=15_000)
        page.click("#worker-category")
        page.get_by_text("道路破损", exact=True).click()
        page.fill("#worker-description", "人行道地砖松动，约两平方米")
        page.set_input_files("#worker-report-upload input[type=file]",
                             files=[{"name": "site.png", "mimeType": "image/png",
                                     "buffer": PNG}])
        page.locator("#worker-report-photo-status img").wait_for(timeout=15_000)
        page.click("#worker-submit")
        page.wait_for_function(
            "document.querySelector('#worker-report-status').innerText.includes('已上报')",
            timeout=15_000)
        (record,) = consume_all(broker, prefix + "incident", 1, timeout_s=20)
        report = json.loads(record.value)
        assert record.key == worker.actor_id.encode()
        assert (report["source"], report["category"], report["lat"], report["lng"]) == (
            "patrol", "road_damage", lat, lng)
        assert report["photo_url"].startswith("/media/") and report["id"] in page.inner_text(
            "#worker-report-status")
        photo = page.request.get(base.rstrip("/") + report["photo_url"])
        assert photo.ok and photo.body() == PNG

        page.get_by_text("我的任务", exact=True).click()
        page.locator("#shell-language").get_by_text("English").click()
        page.get_by_text("My tasks", exact=True).wait_for(timeout=15_000)
        page.locator(".og-task").first.wait_for(timeout=15_000)
        screenshot(page, "worker_en.png")
        assert seen["errors"] == [] and seen["outside"] == []
    finally:
        context.close()
