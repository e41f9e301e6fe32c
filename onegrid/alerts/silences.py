"""Silences: windows of time in which matching alerts are recorded but not notified.

This module owns the `Silence` record, the question "does this silence cover
this alert at this time?" and the silence file. A silence suppresses
notification, never the record: `apply_silences` returns every transition,
marked `alert.silenced` where a silence covers it at the transition's time.
Whether a silence is active is computed from the time given, never stored
and never read from the clock. Deciding alerts is `lifecycle`'s; what the
dashboard or a notifier does with `silenced` is theirs.

A silence matches an alert when every criterion it names matches (one value
of a list is enough) and `starts_at <= at < ends_at`:

- `rule`: the alert's rule id;
- `regions`: any region the alert lies in: its grid and the grid's community,
  street and district (from the region lookup), or the alert's key itself
  for alerts scoped to a region;
- `sensors`: the alert's key, which is the sensor or station id for no-data
  rules.

The silence file is TOML, one `[[silence]]` table per silence:

    [[silence]]
    id = "roadworks-0601"                 # required, unique in the file
    rule = "pm25-ladder"                  # optional: one rule id
    regions = ["G-0101", "C-01"]          # optional: grid/community/street/district ids
    sensors = ["noise-17"]                # optional: sensor or station ids
    starts_at = 2026-06-01T08:00:00+08:00 # required: with a UTC offset (or a string)
    ends_at = 2026-06-01T18:00:00+08:00   # required: after starts_at
    reason = "road works on Nanjing Road" # required
    created_by = "wang.li"                # required

A silence must name at least one of `rule`, `regions` or `sensors`, so a
typo cannot silence the whole city. Problems raise `SilenceError`, worded
"FILE:LINE: what is wrong", at the line of the key at fault or of the
silence's `[[silence]]` header.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from onegrid.alerts.model import Alert, Transition
from onegrid.alerts.toml_lines import Block, Lines, index, syntax_error_at

# What the region lookup may be: grid id -> its grid, community, street, district ids.
RegionLookup = Callable[[str | None], Iterable[str]] | Mapping[str, Iterable[str]]

REQUIRED: Final = ("id", "starts_at", "ends_at", "reason", "created_by")
KEYS: Final = frozenset({*REQUIRED, "rule", "regions", "sensors"})


@dataclass(frozen=True)
class Silence:
    """A window [starts_at, ends_at) in which alerts matching its criteria are silenced.

    Empty `region_ids`/`sensor_ids` and a None `rule_id` match anything.
    """

    silence_id: str
    rule_id: str | None
    region_ids: tuple[str, ...]
    sensor_ids: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str


class SilenceError(ValueError):
    """A problem in a silence file, worded "{file}:{line}: {what is wrong}"."""

    def __init__(self, file: str | Path, line: int, what: str) -> None:
        super().__init__(f"{file}:{line}: {what}")
        self.file, self.line, self.what = str(file), line, what


def is_active(silence: Silence, at: datetime) -> bool:
    """Return True when `at` lies in the silence's window (start inclusive, end exclusive)."""
    return silence.starts_at <= at < silence.ends_at


def is_silenced(silence: Silence, alert: Alert, regions: RegionLookup, at: datetime) -> bool:
    """Return True when the silence covers the alert at time `at`."""
    if not is_active(silence, at):
        return False
    if silence.rule_id is not None and silence.rule_id != alert.rule_id:
        return False
    if silence.sensor_ids and alert.key not in silence.sensor_ids:
        return False
    return not silence.region_ids or bool(set(silence.region_ids) & regions_of(alert, regions))


def silenced_by(silences: Iterable[Silence], alert: Alert, regions: RegionLookup,
                at: datetime) -> Silence | None:
    """Return the first silence covering the alert at `at`, or None."""
    return next((s for s in silences if is_silenced(s, alert, regions, at)), None)


def apply_silences(transitions: Iterable[Transition], silences: Iterable[Silence],
                   regions: RegionLookup) -> list[Transition]:
    """Return every transition, its alert's `silenced` set by the silences at its time.

    The time is the transition's `alert.updated_at`. Nothing is dropped: a
    silenced change is still recorded. `silenced` is set to False where no
    silence matches, so a flag from an earlier change does not outlive its silence.
    """
    silences = tuple(silences)
    out = []
    for t in transitions:
        hit = silenced_by(silences, t.alert, regions, t.alert.updated_at) is not None
        out.append(t if t.alert.silenced == hit
                   else replace(t, alert=replace(t.alert, silenced=hit)))
    return out


def regions_of(alert: Alert, regions: RegionLookup) -> set[str]:
    """Return the ids of the regions the alert lies in (its grid and up, and its key)."""
    if callable(regions):
        found = regions(alert.grid_id)
    else:
        found = regions.get(alert.grid_id, ()) if alert.grid_id else ()
    # Region-scoped alerts carry the region id as their key.
    return {*found, alert.key}


def load_silences(path: Path | str) -> list[Silence]:
    """Return a TOML file's silences in file order; raise SilenceError for the first problem."""
    path = Path(path)
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SilenceError(path, *syntax_error_at(text, e)) from None
    lines = index(text, "silence")
    problems = _check_top(path, data, lines)
    silences: list[Silence] = []
    tables = data.get("silence", [])
    if isinstance(tables, list):
        for table, block in zip(tables, lines.blocks, strict=False):
            reader = _Reader(path, table, block)
            silence = reader.silence()
            problems.extend(reader.errors)
            if silence is not None:
                silences.append(silence)
        problems.extend(_duplicates(path, silences, lines.blocks))
    if problems:
        raise min(problems, key=lambda p: p.line)
    return silences


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as e:
        raise SilenceError(path, 1, f"cannot read the file: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SilenceError(path, 1, "the file is not UTF-8") from None


def _check_top(path: Path, data: dict[str, Any], lines: Lines) -> list[SilenceError]:
    """Return problems outside the [[silence]] tables."""
    problems = [SilenceError(path, lines.top.get(key, 1),
                             f"unknown top-level key {key!r}: write [[silence]] tables only")
                for key in data if key != "silence"]
    if "silence" in data and not isinstance(data["silence"], list):
        problems.append(SilenceError(path, lines.top.get("silence", 1),
                                     "write [[silence]] (an array of tables), not [silence]"))
    return problems


def _duplicates(path: Path, silences: list[Silence], blocks: list[Block]) -> list[SilenceError]:
    """Return a problem for each silence id used before in the file."""
    first: dict[str, int] = {}  # silence id -> line of its first `id`
    problems = []
    for s, block in zip(silences, blocks, strict=False):
        line = block.keys.get("id", block.header)
        if s.silence_id in first:
            problems.append(SilenceError(
                path, line, f"duplicate silence id {s.silence_id!r} (first at line "
                            f"{first[s.silence_id]})"))
        first.setdefault(s.silence_id, line)
    return problems


class _Reader:
    """Reads one [[silence]] table, collecting problems with their lines."""

    def __init__(self, path: Path, table: dict[str, Any], block: Block) -> None:
        self.path, self.table, self.block = path, table, block
        self.errors: list[SilenceError] = []

    def fail(self, key: str | None, what: str) -> None:
        line = self.block.keys.get(key, self.block.header) if key else self.block.header
        self.errors.append(SilenceError(self.path, line, what))

    def silence(self) -> Silence | None:
        """Return the Silence of the table, or None when it has problems."""
        self._check_keys()
        fields = {"silence_id": self.text("id"), "rule_id": self.text("rule", required=False),
                  "region_ids": self.ids("regions"), "sensor_ids": self.ids("sensors"),
                  "starts_at": self.time("starts_at"), "ends_at": self.time("ends_at"),
                  "reason": self.text("reason"), "created_by": self.text("created_by")}
        self._check_window(fields["starts_at"], fields["ends_at"])
        if not ({"rule", "regions", "sensors"} & self.table.keys()):
            self.fail(None, "a silence must name a 'rule', 'regions' or 'sensors'; "
                            "one with none would silence every alert")
        return None if self.errors else Silence(**fields)

    def _check_keys(self) -> None:
        for key in self.table:
            if key not in KEYS:
                close = difflib.get_close_matches(key, sorted(KEYS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(key, f"unknown key {key!r}{hint}")
        for key in REQUIRED:
            if key not in self.table:
                self.fail(None, f"missing required key {key!r}")

    def _check_window(self, starts: datetime | None, ends: datetime | None) -> None:
        if starts is not None and ends is not None and ends <= starts:
            self.fail("ends_at", f"ends_at {ends.isoformat()} must be after "
                                 f"starts_at {starts.isoformat()}")

    def text(self, key: str, required: bool = True) -> str | None:
        value = self.table.get(key)
        if value is None:
            return None  # a missing required key is reported by _check_keys
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"'{key}' must be a non-empty string")
            return None
        return value

    def ids(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"'{key}' must be a list of ids, e.g. {key} = [\"a\", \"b\"]")
            return ()
        return tuple(value)

    def time(self, key: str) -> datetime | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                self.fail(key, f"'{key}' {value!r} is not an ISO-8601 time")
                return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            self.fail(key, f"'{key}' must be a time with a UTC offset, "
                           f"e.g. 2026-06-01T08:00:00+08:00")
            return None
        return value
