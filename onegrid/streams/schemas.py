"""JSON Schemas of the input and command topics, generated from the contract's Structs.

The committed files under `data/schemas/` are for other systems that validate
before they produce; OneGrid itself enforces the same shapes with msgspec. A
test fails when the committed files and the Structs disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from onegrid.streams.contract import COMMANDS, json_schemas

SCHEMA_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "schemas"


def schema_text(schema: dict) -> str:
    """Return a schema as the stable, readable JSON text we commit."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(folder: Path | None = None) -> list[Path]:
    """Write one `<topic>.schema.json` per input topic and for commands into `folder`;
    return the paths."""
    folder = folder or SCHEMA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, schema in json_schemas().items():
        what = "case command" if suffix == COMMANDS else f"{suffix} event"
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  "title": f"OneGrid v1 {what}", **schema}
        path = folder / f"{suffix}.schema.json"
        path.write_text(schema_text(schema), encoding="utf-8")
        paths.append(path)
    return paths
