"""The dispatch board and the case page in a real browser: command staff filter the board
by a strip card, tick cases, dispatch them in bulk, open a case, read its whole-process
record and dispatch it from its page; the commands arrive on Kafka; the page switches to
English; nothing leaves loopback."""

from __future__ import annotations

import json

from onegrid.dashboard.components import case_form as form
from onegrid.dashboard.pages import case as case_page
from onegrid.dashboard.pages import dispatch as board
from tests.browser.conftest import login, screenshot, watch
from tests.streams.kafka_helpers import consume_all

ROWS = f"#{board.TABLE} tbody tr:has(td[data-dash-column=case])"


def text_of(page, ident: str) -> str:
    return page.text_content(f"#{ident}") or ""


def wait_text(page, ident: str, words: str, timeout: int = 20_000) -> None:
    page.wait_for_function(f"(document.getElementById('{ident}') || {{}}).textContent"
                           f"?.includes({json.dumps(words)})", timeout=timeout)


def test_command_staff_dispatch_in_bulk_and_from_the_case_page(page, serve, acting_ctx, broker):
    ctx, prefix = acting_ctx
    url = serve(ctx)
    seen = watch(page, url)
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, url, "CC-01", path="/dispatch")
    page.wait_for_selector(ROWS, timeout=30_000)
    wait_text(page, board.STRIP_ID, "受理")

    # The strip card "受理" (new) filters the board to the cases waiting for dispatch.
    page.locator(f"#{board.STRIP_ID} button", has_text="受理").first.click()
    page.wait_for_function(
        f"[...document.querySelectorAll('{ROWS} td[data-dash-column=state]')]"
        ".every(td => td.textContent.trim() === '受理')", timeout=20_000)
    new = ctx.store.query("SELECT count(*) AS n FROM cases WHERE state = 'new'").to_pylist()[0]
    wait_text(page, board.SHOWN, f"共 {new['n']:,} 条工单")

    # Tick two cases and dispatch them to routing's departments: two commands on Kafka.
    boxes = page.locator(f"{ROWS} input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    wait_text(page, board.BULK_PREVIEW, "2 条可执行")
    ticked = [page.text_content(f"{ROWS} >> nth={i} >> td[data-dash-column=case]").strip()
              for i in (0, 1)]
    page.click(f"#{board.BULK_SEND}")
    wait_text(page, board.BULK_RESULTS, "已发送")
    sent = [json.loads(r.value) for r in consume_all(broker, f"{prefix}commands", 2)]
    assert sorted(m["case_id"] for m in sent) == sorted(ticked)
    assert all(m["action"] == "dispatch" and m["department"] for m in sent)
    screenshot(page, "dispatch.png")

    # The case page: its summary, its whole-process record, and a dispatch from its form.
    page.click(f"{ROWS} >> nth=0 >> td[data-dash-column=case] a")
    page.wait_for_url(f"**/case/{ticked[0]}", timeout=20_000)
    wait_text(page, case_page.LOG, "立案")
    assert "主办单位" in text_of(page, case_page.SUMMARY)
    page.locator(f"#{case_page.ACTIONS} button", has_text="派单").click()
    wait_text(page, form.CHECK, "可以发送")
    assert "建议" in text_of(page, form.DEPT_BOX)
    page.click(f"#{form.SEND}")
    wait_text(page, case_page.STATUS, "已发送")
    # Three commands now, two for this case (bulk, then its page); partitions keep no
    # order between them, so find them by case.
    sent = [json.loads(r.value) for r in consume_all(broker, f"{prefix}commands", 3)]
    mine = [m for m in sent if m["case_id"] == ticked[0]]
    assert len(sent) == 3 and len(mine) == 2
    assert all(m["expected_seq"] is not None for m in mine)

    # A case further along: its log, alert evidence and plan; a press for action (督办).
    rich = ctx.store.query(
        "SELECT s.case_id FROM case_sources s JOIN cases c USING (case_id) WHERE s.kind = "
        "'alert' AND c.plan_id IS NOT NULL AND c.state = 'in_progress' ORDER BY 1 LIMIT 1"
    ).to_pylist()[0]["case_id"]
    page.goto(f"{url}case/{rich}", wait_until="domcontentloaded")
    wait_text(page, case_page.LOG, "签收")
    wait_text(page, case_page.SOURCES, "阈值")
    page.locator(f"#{case_page.ACTIONS} button", has_text="督办").click()
    page.fill(f"#{form.REASON}", "请于今日内处置完毕并反馈")
    wait_text(page, form.CHECK, "可以发送")
    screenshot(page, "case.png")

    page.get_by_text("English", exact=True).click()
    wait_text(page, case_page.LOG, "Open case")
    wait_text(page, case_page.SUMMARY, "Lead unit")
    screenshot(page, "case_en.png")

    # The board in English, showing the overdue cases (in red).
    page.goto(f"{url}dispatch", wait_until="domcontentloaded")
    page.wait_for_selector(ROWS, timeout=30_000)
    page.click(f"#{board.CLEAR}")
    wait_text(page, board.STRIP_ID, "Dispatched")
    # Clearing is a callback of its own: wait until the board shows more than the new
    # cases again, or its answer can land after the overdue card's and undo it.
    page.wait_for_function(
        f"[...document.querySelectorAll('{ROWS} td[data-dash-column=state]')]"
        ".some(td => td.textContent.trim() !== 'Taken in')", timeout=30_000)
    page.locator(f"#{board.STRIP_ID} button", has_text="Overdue").click()
    page.wait_for_function(
        f"[...document.querySelectorAll('{ROWS} td[data-dash-column=countdown]')]"
        ".every(td => /Overdue|paused/.test(td.textContent))", timeout=60_000)
    screenshot(page, "dispatch_en.png")

    assert "Traceback" not in page.text_content("body")
    assert text_of(page, board.ERROR) == ""
    assert seen["errors"] == [] and seen["outside"] == []
