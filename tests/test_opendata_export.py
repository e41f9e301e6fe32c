"""`onegrid opendata export` on a real store: documented columns, no personal data,
small report counts withheld, one-line reasons for bad input."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onegrid.cli import main
from onegrid.geo.cells import cells_to_parent, latlng_to_cells
from onegrid.streams.engine import process, store_outcome
from onegrid.streams.validate import RawMessage
from tests.streams.air_readings import EDGE, SENSOR, hourly_messages

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-06-01"  # Shanghai: 2026-05-31 16:00 to 2026-06-01 16:00 UTC
DAY_START = datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
A = (31.2304, 121.4737)  # People's Square: 8 reports
B = (31.2000, 121.4400)  # Xujiahui: a single report, nothing else
C = (31.199549, 121.356259)  # sensor NZ-CN-001's place: 2 reports beside the sensor
SECRETS = ("王小明", "13812345678", "李四", "13987654321", "楼道里堆满了纸箱", "静安区某路88号",
           "secret-report-")


def report(n: int, where, category: str, hour: int = 2) -> tuple[str, bytes, bytes]:
    body = {"id": f"secret-report-{n}", "ts": (DAY_START + timedelta(hours=hour)).isoformat(),
            "lat": where[0], "lng": where[1], "category": category, "source": "hotline",
            "description": "楼道里堆满了纸箱", "address": "静安区某路88号",
            "reporter": {"name": "王小明" if n % 2 else "李四",
                         "phone": "13812345678" if n % 2 else "13987654321"}}
    return "incident", b"hotline", json.dumps(body, ensure_ascii=False).encode()


@pytest.fixture
def day_store(store, demo_city):
    """A store holding one day: a station all day, a noise sensor, reports in three cells."""
    pm25 = [30.0] * 24
    pm25[5:8] = [90.0, 120.0, 90.0]
    items = [*hourly_messages({EDGE: pm25}, start=DAY_START, reports=False),
             *(report(i, A, "street_vending") for i in range(4)),
             *(report(10 + i, A, "exposed_garbage") for i in range(3)),
             report(20, A, "illegal_parking"),
             report(30, B, "street_vending"),
             *(report(40 + i, C, "exposed_garbage") for i in range(2)),
             report(50, A, "street_vending", hour=-3)]  # the day before: not counted
    messages = [RawMessage(f"onegrid.{s}", 0, i, k, v, s) for i, (s, k, v) in enumerate(items)]
    outcome = process(messages, demo_city, DAY_START + timedelta(days=2))
    assert outcome.rejections == []
    store.write(lambda cur: store_outcome(cur, outcome, messages, "onegrid."))
    path = store.path
    store.close()
    return path


def export(db: Path, out: Path, *more: str) -> int:
    return main(["opendata", "export", "--db", str(db), "--day", DAY, "--out", str(out), *more])


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


def documented(section: str) -> list[str]:
    """Return the column names of the dictionary's table under the heading naming `section`."""
    text = (ROOT / "docs" / "opendata.md").read_text(encoding="utf-8")
    part = text.split(f"## `{section}")[1].split("\n## ")[0]
    return re.findall(r"^\| `([a-z0-9_]+)` \|", part, flags=re.M)


def r8(where) -> str:
    import h3
    return h3.int_to_str(int(cells_to_parent(latlng_to_cells([where[0]], [where[1]]), 8)[0]))


def test_every_column_of_every_file_is_in_the_data_dictionary(day_store, tmp_path):
    assert export(day_store, tmp_path / "out") == 0
    out = tmp_path / "out"
    cells = documented("cells_<day>.csv")
    assert header(out / f"cells_{DAY}.csv") == [c for c in cells if c != "reports_by_category"]
    assert header(out / f"reports_by_category_{DAY}.csv") == \
        documented("reports_by_category_<day>.csv")
    geo = json.loads((out / f"cells_{DAY}.geojson").read_text(encoding="utf-8"))
    assert geo["features"] and all(set(f["properties"]) == set(cells) for f in geo["features"])
    assert geo["suppression_k"] == 3 and "LICENCE" in geo["licence"]


def test_no_personal_data_id_or_free_text_reaches_the_files(day_store, tmp_path):
    assert export(day_store, tmp_path / "out") == 0
    for path in (tmp_path / "out").iterdir():
        text = path.read_text(encoding="utf-8")
        for secret in (*SECRETS, EDGE, SENSOR):
            assert secret not in text, f"{secret!r} in {path.name}"


def test_small_report_counts_are_withheld_and_large_ones_shown(day_store, tmp_path):
    assert export(day_store, tmp_path / "out") == 0
    by_cell = {r["cell"]: r for r in rows(tmp_path / "out" / f"cells_{DAY}.csv")}
    assert by_cell[r8(A)]["reports"] == "8"
    assert r8(B) not in by_cell  # one report and nothing else: the cell is left out
    assert by_cell[r8(C)]["reports"] == "" and by_cell[r8(C)]["sensor_readings"] != "0"
    # street_vending 4 is shown; exposed_garbage 3 goes with illegal_parking 1, whose
    # count would otherwise be 8 - 4 - 3.
    shown = [(r["cell"], r["category"], r["reports"])
             for r in rows(tmp_path / "out" / f"reports_by_category_{DAY}.csv")]
    assert shown == [(r8(A), "street_vending", "4")]
    geo = json.loads((tmp_path / "out" / f"cells_{DAY}.geojson").read_text(encoding="utf-8"))
    props = {f["id"]: f["properties"] for f in geo["features"]}
    assert props[r8(A)]["reports_by_category"] == {"street_vending": 4}
    assert props[r8(C)]["reports"] is None


def test_a_larger_k_withholds_more(day_store, tmp_path):
    assert export(day_store, tmp_path / "out", "--k", "10") == 0
    by_cell = {r["cell"]: r for r in rows(tmp_path / "out" / f"cells_{DAY}.csv")}
    assert r8(A) not in by_cell and rows(tmp_path / "out" / f"reports_by_category_{DAY}.csv") \
        == []


def test_the_station_cell_carries_the_days_air_by_the_national_method(day_store, tmp_path):
    assert export(day_store, tmp_path / "out") == 0
    station = next(r for r in rows(tmp_path / "out" / f"cells_{DAY}.csv")
                   if r["station_readings"] != "0")
    # 21 hours at 30, two at 90 and one at 120 µg/m³; PM2.5 120 is IAQI 158.
    assert station["pm25_max"] == "120.0" and station["aqi_max"] == "158.0"
    assert float(station["pm25_mean"]) == pytest.approx((21 * 30 + 2 * 90 + 120) / 24, abs=0.05)
    assert station["valid_hours"] == "24" and station["station_readings"] == "96"
    # The daily AQI of the 24-hour PM2.5 mean 38.75 µg/m³ (IAQI 55): primary PM2.5.
    assert station["aqi_day"] == "55.0" and station["primary_pollutants_day"] == "pm25"


@pytest.mark.parametrize(("args", "words"), [
    (["--day", "2026-13-01"], "--day"),
    (["--day", "yesterday"], "YYYY-MM-DD"),
    (["--k", "0"], "--k"),
])
def test_bad_arguments_fail_with_one_line(day_store, tmp_path, capsys, args, words):
    argv = ["opendata", "export", "--db", str(day_store), "--day", DAY,
            "--out", str(tmp_path / "out"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_a_missing_store_a_file_as_out_and_a_non_store_fail_with_one_line(
        day_store, tmp_path, capsys):
    assert export(tmp_path / "none.duckdb", tmp_path / "out") == 2
    assert "no such store file" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert export(day_store, blocker) == 2
    assert "not a folder" in capsys.readouterr().err
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database", encoding="utf-8")
    assert export(junk, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(junk) in err


def test_a_day_without_events_gives_files_with_headers_only(day_store, tmp_path):
    assert main(["opendata", "export", "--db", str(day_store), "--day", "2026-01-01",
                 "--out", str(tmp_path / "out")]) == 0
    assert rows(tmp_path / "out" / "cells_2026-01-01.csv") == []
    geo = json.loads((tmp_path / "out" / "cells_2026-01-01.geojson").read_text("utf-8"))
    assert geo["features"] == []
