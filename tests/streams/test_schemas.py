"""The committed JSON Schemas match the contract the engine enforces."""

from __future__ import annotations

import json

import jsonschema
import pytest

from onegrid.streams.contract import EVENT_TYPES
from onegrid.streams.schemas import SCHEMA_DIR, write_schemas


def test_committed_schemas_are_what_the_contract_generates(tmp_path):
    for path in write_schemas(tmp_path):
        committed = SCHEMA_DIR / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is stale: run `onegrid schemas`")


@pytest.mark.parametrize("suffix, good, bad", [
    ("sensor", {"id": "a", "ts": 1, "sensor_id": "s", "metric": "noise_db", "value": 3.5},
     {"id": "a", "ts": 1, "sensor_id": "s", "metric": "noise_db", "value": "3.5"}),
    ("environment", {"id": "a", "ts": "2026-06-01T12:00:00+08:00", "station_id": "x",
                     "pm25": 3}, {"id": "a", "ts": 1, "station_id": "x", "pm25": -3}),
    ("incident", {"id": "a", "ts": 1, "lat": 31, "lng": 121, "category": "c",
                  "source": "app"}, {"id": "a", "ts": 1, "category": "c", "source": "fax"}),
    ("incident", {"id": "a", "ts": 1, "category": "c", "source": "patrol",
                  "photo_url": "/media/a.jpg"},
     {"id": "a", "ts": 1, "category": "c", "source": "patrol", "photo_url": "javascript:x"}),
    ("commands", {"command_id": "c", "case_id": "K-1", "action": "accept", "actor": "u",
                  "at": 1}, {"command_id": "c", "case_id": "K-1", "action": "fly", "actor": "u",
                             "at": 1}),
])
def test_schemas_accept_and_refuse_what_the_engine_does(suffix, good, bad):
    schema = json.loads((SCHEMA_DIR / f"{suffix}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert suffix in EVENT_TYPES or suffix == "commands"
