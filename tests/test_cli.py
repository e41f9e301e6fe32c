"""The command line: help for every command, one-line reasons, exit statuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from onegrid.cli import build_parser, main


def onegrid(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "onegrid.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_every_command_explains_itself_with_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0, name


def test_run_without_a_broker_address_fails_with_one_line(monkeypatch, capsys):
    monkeypatch.delenv("ONEGRID_BOOTSTRAP", raising=False)
    assert main(["run", "--db", "x.duckdb"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--bootstrap" in err


def test_a_bad_city_folder_fails_naming_the_file(tmp_path):
    done = onegrid("run", "--bootstrap", "127.0.0.1:9", "--city", str(tmp_path))
    assert done.returncode == 2
    assert str(tmp_path / "city.toml") in done.stderr and "Traceback" not in done.stderr


def test_replay_of_a_missing_file_fails_with_one_line():
    done = onegrid("replay", "--bootstrap", "127.0.0.1:9", "/no/such/file.jsonl")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "file not found" in done.stderr


def test_city_import_of_a_bad_file_fails_without_a_traceback(tmp_path):
    bad = tmp_path / "city.geojson"
    bad.write_text("{not geojson", encoding="utf-8")
    done = onegrid("city", "import", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(bad) in done.stderr


def test_schemas_command_writes_the_input_and_command_schemas(tmp_path):
    done = onegrid("schemas", "--out", str(tmp_path))
    assert done.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "commands.schema.json", "environment.schema.json", "incident.schema.json",
        "sensor.schema.json"]


def test_rules_check_accepts_the_demo_rules():
    done = onegrid("rules", "check", "onegrid/data/rules.toml")
    assert done.returncode == 0, done.stderr


def test_rules_check_names_file_and_line_of_each_problem(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nid = "x"\nkind = "threshold"\ntitle_zh = "x"\ntitle_en = "x"\n'
                   'metric = "vibes"\nstat = "mean"\nwindow = "10m"\nthreshold = 3\n',
                   encoding="utf-8")
    done = onegrid("rules", "check", str(bad))
    assert done.returncode == 1
    assert f"{bad}:6:" in done.stderr and "vibes" in done.stderr


def test_a_bad_silence_file_stops_the_engine_at_start_naming_file_and_line(tmp_path):
    bad = tmp_path / "silences.toml"
    bad.write_text('[[silence]]\nid = "s"\nrule = "r"\nstarts_at = "tomorrow"\n'
                   'ends_at = 2026-06-01T18:00:00+08:00\nreason = "x"\ncreated_by = "y"\n',
                   encoding="utf-8")
    done = onegrid("run", "--bootstrap", "127.0.0.1:9", "--silences", str(bad),
                   "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{bad}:4" in done.stderr


def test_backtest_of_a_missing_store_fails_with_one_line(tmp_path):
    done = onegrid("rules", "backtest", "--rules", "onegrid/data/rules.toml", "--db",
                   str(tmp_path / "none.duckdb"), "--from", "2026-06-01T00:00:00+08:00",
                   "--to", "2026-06-02T00:00:00+08:00")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_a_time_that_is_not_iso_fails_with_one_line():
    done = onegrid("simulate", "--bootstrap", "127.0.0.1:9", "--start", "yesterday")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--start 'yesterday': not an ISO-8601 time" in done.stderr


def test_serving_a_store_an_engine_holds_says_so_in_one_line(tmp_path):
    from onegrid.geo.store import Store

    db = tmp_path / "held.duckdb"
    with Store(db):
        done = subprocess.run([sys.executable, "-m", "onegrid.cli", "serve", "--db", str(db),
                               "--port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "open in another process" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
