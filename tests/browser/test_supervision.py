"""The supervision page in headless Chromium: a supervisor sees the KPIs, the overdue list
and the chain status, and presses an overdue case for action."""

from __future__ import annotations

import json

from onegrid.dashboard.pages import supervision as sv
from onegrid.dashboard.views.supervision import W
from tests.browser.conftest import login, screenshot, watch
from tests.streams.kafka_helpers import consume_all

REASON = "超期未办结，请主办单位加快处置"
VIEWPORT = {"width": 1280, "height": 800}
TALL = {"width": 1280, "height": 1800}
WAIT_MS = 60_000  # generous: CI shares two cores between the browser, broker and server


def test_a_supervisor_reads_the_kpis_and_presses_an_overdue_case(page, serve, acting_ctx,
                                                                 broker):
    ctx, prefix = acting_ctx
    base = serve(ctx)
    seen = watch(page, base)
    login(page, base, "SV-01", path="supervision")

    page.wait_for_selector(".og-kpi-table tbody tr", timeout=WAIT_MS)
    page.wait_for_selector(f"#{sv.CHART_RATE} .main-svg", timeout=WAIT_MS)
    page.wait_for_selector(f"#{sv.CHART_BACKLOG} .bars path", timeout=WAIT_MS)
    assert W("zh", "col_on_time_rate") in page.inner_text(".og-kpi-table")
    assert page.inner_text("#supervision-card-cases").strip() not in ("", "0")
    rows = page.locator(".og-overdue-table tbody tr")
    rows.first.wait_for(timeout=WAIT_MS)
    assert rows.count() > 1
    page.wait_for_function(
        f"document.querySelector('#{sv.CHAIN}').innerText.includes('记录链完整')",
        timeout=WAIT_MS)
    page.set_viewport_size(TALL)  # the whole page: KPIs, the overdue list, the audit trail
    screenshot(page, "supervision.png")
    page.set_viewport_size(VIEWPORT)

    # Sorting by a column redraws the table in that order.
    page.click(".og-kpi-table thead button:has-text('按期办结率')")
    page.wait_for_selector(".og-kpi-table thead button:has-text('按期办结率 ▼')")

    # Press the most overdue case with a reason; the command goes on Kafka.
    first = rows.first
    case_id = first.locator("a").inner_text().strip()
    page.fill(f"#{sv.REASON}", REASON)
    first.locator("button").click()
    page.wait_for_function(
        f"document.querySelector('#{sv.ACTION_STATUS}').innerText.includes('已发送')",
        timeout=WAIT_MS)
    (record,) = consume_all(broker, prefix + "commands", 1, timeout_s=30)
    message = json.loads(record.value)
    assert (message["action"], message["case_id"], message["actor"], message["reason"]) == (
        "press", case_id, "SV-01", REASON)

    page.click("#shell-language label:has-text('English')")
    page.wait_for_function(
        f"document.querySelector('#{sv.CHAIN}')?.innerText.includes('Chain intact')",
        timeout=WAIT_MS)
    page.wait_for_selector(".og-kpi-table tbody tr", timeout=WAIT_MS)
    page.wait_for_selector(f"#{sv.CHART_RATE} .main-svg", timeout=WAIT_MS)
    assert "On-time closure" in page.inner_text(".og-kpi-table")
    assert "Press for action" in page.inner_text(".og-overdue-table")
    page.set_viewport_size(TALL)
    screenshot(page, "supervision_en.png")

    assert seen["errors"] == [] and seen["outside"] == []
