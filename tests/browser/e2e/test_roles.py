"""Every role's core job, end to end, against a live `onegrid up` in headless Chromium.

A tilted manhole cover (a reading injected on `onegrid.sensor`) fires the `manhole.tilt`
rule, whose alert opens a case. Command-centre staff see the alert on the map and
dispatch its case to the department routing suggests; that department's staff find it
on their board and sign for it; the grid worker of that grid finds it on the phone page,
starts and resolves it with a note; staff verify it and close it; the supervisor sees
the department's KPIs move; the administrator finds the case log's chain intact; the
environmental officer plays back the last 24 hours and exports them. Every step goes through the
pages and `onegrid.commands`, applied by the stack's own engine.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import h3
import pytest
from kafka import KafkaProducer

from onegrid.alerts.directory import load_directory
from onegrid.alerts.routing import route
from onegrid.dashboard.components import case_form as form
from onegrid.dashboard.pages import case as case_page
from onegrid.dashboard.pages import command_map as cmap
from onegrid.dashboard.pages import dispatch as board
from onegrid.dashboard.pages import environment as env
from onegrid.dashboard.pages import supervision as sup
from onegrid.dashboard.views.supervision import KPI_COLUMNS
from onegrid.geo.regions import load_regions
from onegrid.geo.registry import load_registry

pytestmark = [pytest.mark.broker, pytest.mark.slow]

GRID = "CN-01-01-01"  # Changning; its grid worker is GW-00001
WORKER = "GW-00001"
STAFF = "CC-01"
WAIT_MS = 60_000  # the engine takes a batch, a decision and a publish per step


def text_of(element_id: str) -> str:
    """Return a JS expression: the element's text, or "" while it is not on the page."""
    return f"((document.getElementById('{element_id}') || {{}}).textContent || '')"


def wait_text(page, element_id: str, words: str, timeout: int = WAIT_MS) -> None:
    page.wait_for_function(f"{text_of(element_id)}.includes({json.dumps(words)})",
                           timeout=timeout)


@dataclass
class Journey:
    """What the steps of the journey learn and hand on: the case they work on, its lead
    department, and the supervisor's page with the KPIs it showed before the close."""

    case_id: str | None = None
    grid_name: str = ""
    department: str | None = None
    kpis_before: list[str] = field(default_factory=list)
    supervisor: object = None


@pytest.fixture(scope="module")
def journey():
    return Journey()


def signed_in(browser, stack, user: str, path: str, **context_args):
    """Return a new page signed in as `user` on the stack, at `path`."""
    context = browser.new_context(locale="zh-CN", **context_args)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{stack.url}login?next={path}", wait_until="domcontentloaded")
    page.fill("#login-user", user)
    page.fill("#login-password", "onegrid")
    page.click("#login-submit")
    page.wait_for_selector("#shell-page > *", timeout=WAIT_MS)
    page.errors = errors
    return page


def inject_tilt(stack, lat: float, lng: float) -> str:
    """Send one manhole-tilt reading of 25 degrees from a new device at (lat, lng)."""
    sensor = f"MH-E2E-{uuid.uuid4().hex[:6]}"
    reading = {"id": f"e2e-{uuid.uuid4().hex}", "ts": datetime.now(UTC).isoformat(),
               "sensor_id": sensor, "metric": "manhole_tilt_deg", "value": 25.0,
               "unit": "deg", "lat": lat, "lng": lng}
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap)
    producer.send(stack.prefix + "sensor", json.dumps(reading).encode(), key=sensor.encode())
    producer.flush()
    producer.close()
    return sensor


def test_command_staff_dispatch_the_case_of_a_firing_alert(stack, browser, journey):
    regions = load_regions()
    cell = int(regions.cells[regions.cell_ids["grid_id"] == GRID][0])
    lat, lng = h3.cell_to_latlng(h3.int_to_str(cell))
    journey.grid_name = str(regions.levels["grid"].at[GRID, "name_zh"])
    page = signed_in(browser, stack, STAFF, "/map", viewport={"width": 1400, "height": 900})
    inject_tilt(stack, lat, lng)
    # The alert reaches the queue with the case it opened (rule case = auto).
    row = page.locator(f"#{cmap.QUEUE} tr", has_text="井盖倾斜").filter(
        has_text=journey.grid_name).filter(has_text="C-")
    row.first.wait_for(timeout=WAIT_MS)
    journey.case_id = row.first.locator("td[data-dash-column=case]").text_content().strip()
    row.first.locator("td[data-dash-column=rule]").click()
    wait_text(page, cmap.PICKED, journey.grid_name)
    page.click(f"#{cmap.DETAILS_BUTTON}")
    wait_text(page, cmap.DETAIL, "为什么告警")
    # Dispatch it: routing suggests the department and the remit covers it.
    page.click(f"#{cmap.OPEN_BUTTON}")
    wait_text(page, cmap.TARGET, journey.case_id)
    wait_text(page, cmap.CHECK, "权责清单覆盖此事项")
    page.click(f"#{cmap.SEND}")
    wait_text(page, cmap.ACTION_STATUS, "已处理：派单")
    assert "Traceback" not in page.text_content("body") and page.errors == []


def test_the_department_finds_it_on_its_board_and_signs_for_it(stack, browser, journey):
    assert journey.case_id, "the dispatch step did not run"
    page = signed_in(browser, stack, "ST-CN-sw", "/dispatch",
                     viewport={"width": 1400, "height": 900})
    page.fill(f"#{board.SEARCH}", journey.case_id)
    link = page.locator(f"#{board.TABLE} a", has_text=journey.case_id)
    link.wait_for(timeout=WAIT_MS)
    link.click()
    page.wait_for_url(f"**/case/{journey.case_id}", timeout=WAIT_MS)
    wait_text(page, case_page.SUMMARY, "已派单")
    page.locator(f"#{case_page.ACTIONS} button", has_text="签收").click()
    wait_text(page, form.CHECK, "可以发送")
    page.click(f"#{form.SEND}")
    wait_text(page, case_page.STATUS, "已处理：签收")
    assert page.errors == []


def test_the_grid_worker_starts_and_resolves_it_on_the_phone(stack, browser, journey):
    assert journey.case_id, "the dispatch step did not run"
    page = signed_in(browser, stack, WORKER, "/worker",
                     viewport={"width": 390, "height": 844}, has_touch=True)
    # Wait for the card to show the state the last step led to: a button of the card as
    # it was before carries the old step and is refused as stale.
    card = page.locator(".og-task", has_text=journey.case_id).filter(has_text="已签收")
    card.wait_for(timeout=WAIT_MS)
    card.locator("button.og-w-act-start").click()
    wait_text(page, "worker-action-status", "已处理：开始处置")
    card = page.locator(".og-task", has_text=journey.case_id).filter(has_text="处置中")
    card.wait_for(timeout=WAIT_MS)
    card.locator("button.og-w-act-resolve").wait_for(timeout=WAIT_MS)
    card.locator("button.og-w-act-resolve").click()
    page.fill("#worker-note", "井盖已复位并加固，现场已清理")
    page.click("#worker-confirm")
    wait_text(page, "worker-action-status", "已处理：办结")
    assert page.errors == []


def kpi_row(page, department_name: str) -> list[str]:
    """Return the cells of the KPI table's row for a department, once it shows."""
    row = page.locator(f"#{sup.KPI_TABLE} tr", has_text=department_name)
    row.first.wait_for(timeout=WAIT_MS)
    return [c.strip() for c in row.first.locator("td").all_text_contents()]


def test_the_supervisor_reads_the_departments_kpis_before_the_close(stack, browser, journey):
    assert journey.case_id, "the dispatch step did not run"
    registry, regions = load_registry(), load_regions()
    directory = load_directory(registry, regions)
    lead = route("manhole_damaged", GRID, registry, regions, directory.staff,
                 directory.fallback_owners).lead
    journey.department = registry.departments[lead].name_zh
    page = signed_in(browser, stack, "SV-01", "/supervision",
                     viewport={"width": 1400, "height": 1200})
    journey.kpis_before = kpi_row(page, journey.department)
    journey.supervisor = page


def test_staff_verify_and_close_it_and_the_log_holds_every_step(stack, browser, journey):
    assert journey.case_id, "the dispatch step did not run"
    page = signed_in(browser, stack, STAFF, f"/case/{journey.case_id}",
                     viewport={"width": 1400, "height": 900})
    wait_text(page, case_page.LOG, "办结")
    for label in ("核查通过", "结案"):
        button = page.locator(f"#{case_page.ACTIONS} button", has_text=label)
        button.wait_for(timeout=WAIT_MS)
        button.click()
        wait_text(page, form.CHECK, "可以发送")
        page.click(f"#{form.SEND}")
        wait_text(page, case_page.STATUS, f"已处理：{label}")
    wait_text(page, case_page.SUMMARY, "已结案")
    log = page.text_content(f"#{case_page.LOG}")
    for step in ("立案", "派单", "签收", "开始处置", "办结", "核查通过", "结案"):
        assert step in log, step
    assert page.errors == []


def test_the_supervisor_sees_the_departments_kpis_change(journey):
    assert journey.supervisor is not None, "the supervisor's first look did not run"
    page = journey.supervisor
    before = journey.kpis_before
    closed = 1 + [c for c, _ in KPI_COLUMNS].index("closed")  # the first cell is the name
    for _ in range(12):  # the KPIs refresh every 20 s, and on demand
        page.click(f"#{sup.REFRESH}")
        page.wait_for_timeout(2500)
        after = kpi_row(page, journey.department)
        if after != before:
            break
    assert int(after[closed]) == int(before[closed]) + 1, (before, after)
    assert page.errors == []


def test_the_administrator_finds_the_case_log_intact(stack, browser, journey):
    page = signed_in(browser, stack, "AD-01", "/supervision",
                     viewport={"width": 1400, "height": 1200})
    wait_text(page, sup.CHAIN, "记录链完整")
    wait_text(page, sup.AUDIT, "C-")
    assert page.errors == []


def test_the_environmental_officer_plays_back_24_hours_and_exports(stack, browser, tmp_path):
    page = signed_in(browser, stack, "EO-01", "/environment",
                     viewport={"width": 1400, "height": 900})
    stations = len(load_registry().stations)
    badges = "Array.from(document.querySelectorAll('.og-station-badge')).length"
    page.wait_for_function(f"{badges} >= {stations // 2}", timeout=WAIT_MS)
    first = page.text_content(f"#{env.STEP}")
    page.click(f"#{env.PLAY}")
    page.wait_for_function(f"{text_of(env.STEP)} !== {json.dumps(first)}", timeout=WAIT_MS)
    second = page.text_content(f"#{env.STEP}")
    page.wait_for_function(f"{text_of(env.STEP)} !== {json.dumps(second)}", timeout=WAIT_MS)
    page.click(f"#{env.PLAY}")
    with page.expect_download() as got:
        page.click(f"#{env.CSV}")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8-sig"))))
    assert rows and any(r["kind"] == "station" for r in rows)
    with page.expect_download() as got:
        page.click(f"#{env.GEOJSON}")
    collection = json.loads(Path(got.value.path()).read_text("utf-8"))
    assert collection["type"] == "FeatureCollection" and collection["features"]
    assert page.errors == []
