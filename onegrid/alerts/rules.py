"""The rule file: load and check `rules.toml` into versioned, validated Rules.

This module owns the file format (`[[rule]]` tables, durations as "10m"),
validation with an error naming file, line and problem, per-rule versions (a
hash of the rule's own text, so editing one rule changes only its version) and
reloading on change (`RuleWatcher`, which keeps the last good set). What a rule
means at run time belongs to `kinds/` and `lifecycle`; the CLI only calls
`check_rules`. The format is documented in docs/rules.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from onegrid.alerts.model import Level, Rule, Scope
from onegrid.alerts.toml_lines import Block, Lines, index, syntax_error_at

_COMMON: Final = frozenset({"id", "kind", "title_zh", "title_en", "description", "case",
                            "regions", "for", "clear_for", "lateness", "every"})

# kind -> every key a rule of that kind may carry; anything else is a typo.
KEYS: Final[dict[str, frozenset[str]]] = {
    "threshold": _COMMON | {"metric", "stat", "window", "scope", "res", "op", "threshold",
                            "clear", "severity", "levels", "dwell"},
    "rate": _COMMON | {"metric", "window", "scope", "res", "op", "threshold", "clear",
                       "severity"},
    "count": _COMMON | {"metric", "window", "res", "ring", "count", "clear", "severity"},
    "nodata": _COMMON | {"source", "metric", "silent", "severity"},
    "forecast": _COMMON | {"metric", "window", "scope", "res", "horizon", "threshold", "clear",
                           "severity", "min_rate", "min_points"},
}
STATS: Final = ("mean", "max", "min", "sum", "count")
OPS: Final = (">=", "<=")
CASES: Final = ("none", "suggest", "auto")
SOURCES: Final = ("sensor", "station")
ANY_INCIDENT: Final = "incident:*"  # count rules: every category, each counted on its own
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FIT_MIN_POINTS: Final = 3  # forecast rules: a line through two points says nothing of noise
FIT_DEFAULT_POINTS: Final = 5
HORIZON_PER_WINDOW: Final = 4  # forecast rules: a trend is not read further than this
_MISSING: Final = object()  # getter default meaning "this key is required"


class RuleError(ValueError):
    """A problem in a rule file, worded "{file}:{line}: {what is wrong}"."""

    def __init__(self, file: str | Path, line: int, what: str) -> None:
        super().__init__(f"{file}:{line}: {what}")
        self.file, self.line, self.what = str(file), line, what


@dataclass(frozen=True)
class RuleSet:
    """The validated rules of one file, in file order, and the file's version."""

    rules: tuple[Rule, ...]
    by_id: Mapping[str, Rule]
    path: Path
    version: str  # first 12 hex of sha256 of the file's bytes


def duration_to_seconds(value: object) -> int:
    """Return seconds for "30s", "10m", "2h", "1d" or a whole number of seconds.

    Raises ValueError with a sentence a person can act on.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"(\d+)([smhd])", value.strip())
        if m:
            return int(m.group(1)) * _UNITS[m.group(2)]
    raise ValueError(f"bad duration {value!r}: write e.g. \"30s\", \"10m\", \"2h\", \"1d\" "
                     "or whole seconds")


def rule_version(table: Mapping[str, Any]) -> str:
    """Return the first 12 hex of sha256 of the rule table re-serialised with sorted keys."""
    # Canonical JSON, not the file's text: reformatting or reordering keys keeps the version.
    text = json.dumps(table, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_rules(path: Path, known_metrics: set[str], known_regions: set[str] = frozenset(),
               bucket_s: int = 60) -> RuleSet:
    """Return the rules of `path`, validated; raise RuleError for the first problem.

    `known_metrics` holds sensor metrics, pollutants and "incident:<category>"
    for every category; `known_regions` the region ids `regions` may name (not
    checked when empty); `bucket_s` the store's bucket, which windows must fit.
    """
    problems, ruleset = _read(Path(path), known_metrics, known_regions, bucket_s)
    if problems:
        raise problems[0]
    assert ruleset is not None
    return ruleset


def check_rules(path: Path, known_metrics: set[str], known_regions: set[str] = frozenset(),
                bucket_s: int = 60) -> list[str]:
    """Return one line per problem in `path` (all of them, in line order); empty when clean."""
    problems, _ = _read(Path(path), known_metrics, known_regions, bucket_s)
    return [str(p) for p in problems]


class RuleWatcher:
    """Reload a rule file when it changes; keep the last good set when it does not load.

    `loader` is `load_rules` with the caller's metrics and regions bound (e.g.
    functools.partial). The engine calls `poll()` once per batch.
    """

    def __init__(self, path: Path, loader: Callable[[Path], RuleSet]) -> None:
        self.path, self.loader = Path(path), loader
        self.current: RuleSet | None = None  # the last set that loaded cleanly
        self.last_error: str | None = None  # why the newest content did not load
        self._stat: tuple[int, int] | None = None  # (mtime_ns, size) last looked at
        self._digest: str | None = None  # sha256 of the content last tried

    def poll(self) -> RuleSet | None:
        """Return a new RuleSet if the file changed and loads cleanly, else None."""
        try:
            st = self.path.stat()
            if (st.st_mtime_ns, st.st_size) == self._stat:
                return None  # cheap path: most batches see an untouched file
            self._stat = (st.st_mtime_ns, st.st_size)
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError as e:
            self.last_error = f"{self.path}: cannot read the file: {e.strerror}"
            self._stat = None
            return None
        if digest == self._digest:
            return None  # touched but not changed; a bad file is not retried every batch
        self._digest = digest
        try:
            ruleset = self.loader(self.path)
        except (RuleError, OSError) as e:
            self.last_error = str(e)
            return None
        self.current, self.last_error = ruleset, None
        return ruleset


# --- reading the file --------------------------------------------------------------------


def _read(path: Path, known_metrics: set[str], known_regions: set[str],
          bucket_s: int) -> tuple[list[RuleError], RuleSet | None]:
    """Return (problems sorted by line, the RuleSet when there are none)."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as e:
        return [RuleError(path, 1, f"cannot read the file: {e.strerror}")], None
    except UnicodeDecodeError:
        return [RuleError(path, 1, "the file is not UTF-8")], None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return [RuleError(path, *syntax_error_at(text, e))], None
    lines = index(text, "rule", "levels")
    ctx = _Context(path, frozenset(known_metrics), frozenset(known_regions), bucket_s)
    problems, rules = _read_tables(data, lines, ctx)
    problems.sort(key=lambda p: p.line)
    if problems:
        return problems, None
    version = hashlib.sha256(raw).hexdigest()[:12]
    return [], RuleSet(tuple(rules), {r.id: r for r in rules}, path, version)


@dataclass(frozen=True)
class _Context:
    path: Path
    metrics: frozenset[str]
    regions: frozenset[str]
    bucket_s: int


def _read_tables(data: dict[str, Any], lines: Lines,
                 ctx: _Context) -> tuple[list[RuleError], list[Rule]]:
    """Return (problems, rules) for the parsed document."""
    problems: list[RuleError] = []
    for key in data:
        if key != "rule":
            problems.append(RuleError(ctx.path, lines.top.get(key, 1),
                                      f"unknown top-level key {key!r}: rules go in [[rule]] "
                                      "tables"))
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        line = lines.top.get("rule", 1)
        return [*problems, RuleError(ctx.path, line, "write [[rule]] (an array of tables), "
                                                     "not [rule]")], []
    rules, first_line = [], {}  # first_line: rule id -> line of its `id =` key
    for i, table in enumerate(tables):
        block = lines.blocks[i] if i < len(lines.blocks) else Block(1)
        reader = _Reader(table, block, ctx)
        rule = _build(reader)
        problems.extend(reader.errors)
        if rule is None:
            continue
        line = block.keys.get("id", block.header)
        if rule.id in first_line:
            problems.append(RuleError(ctx.path, line, f"duplicate rule id {rule.id!r} (lines "
                                                      f"{first_line[rule.id]} and {line})"))
            continue
        first_line[rule.id] = line
        rules.append(rule)
    return problems, rules


# --- one rule ----------------------------------------------------------------------------


class _Reader:
    """One [[rule]] table: typed getters that record a problem at the key's line.

    Getters return None for a missing or bad value so one pass finds every
    problem; the Rule is built only when none was recorded.
    """

    def __init__(self, table: dict[str, Any], block: Block, ctx: _Context) -> None:
        self.t, self.block, self.ctx = table, block, ctx
        self.kind = "?"
        self.errors: list[RuleError] = []

    def fail(self, key: str | None, what: str, line: int | None = None) -> None:
        """Record a problem at `line`, else the key's line, else the header."""
        line = line or self.block.keys.get(key or "", self.block.header)
        self.errors.append(RuleError(self.ctx.path, line, what))

    def has(self, key: str) -> bool:
        return key in self.t

    def get(self, key: str, default: Any) -> Any:
        """Return the raw value, recording a missing required key."""
        if key in self.t:
            return self.t[key]
        if default is _MISSING:
            self.fail(None, f"missing required key {key!r} for kind {self.kind!r}")
            return None
        return default

    def text(self, key: str, default: Any = _MISSING) -> str | None:
        value = self.get(key, default)
        if value is None or (isinstance(value, str) and value.strip()):
            return value
        self.fail(key, f"{key!r} must be a non-empty string, not {value!r}")
        return None

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> str | None:
        value = self.get(key, default)
        if value is None or value in options:
            return value
        self.fail(key, f"{key!r} must be one of {', '.join(options)}, not {value!r}")
        return None

    def number(self, key: str, default: Any = _MISSING) -> float | None:
        value = self.get(key, default)
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return None if value is None else float(value)
        self.fail(key, f"{key!r} must be a number, not {value!r}")
        return None

    def integer(self, key: str, lo: int, hi: int, default: Any = _MISSING) -> int | None:
        value = self.get(key, default)
        if value is None or (type(value) is int and lo <= value <= hi):
            return value
        self.fail(key, f"{key!r} must be a whole number from {lo} to {hi}, not {value!r}")
        return None

    def duration(self, key: str, default: Any = _MISSING) -> int | None:
        value = self.get(key, default)
        if value is None:
            return None
        try:
            return duration_to_seconds(value)
        except ValueError as e:
            self.fail(key, f"{key!r}: {e}")
            return None


def _build(r: _Reader) -> Rule | None:
    """Return the Rule of one table, or None when problems were recorded."""
    if not isinstance(r.t, dict):
        r.fail(None, "a rule must be a table")
        return None
    r.kind = r.choice("kind", tuple(sorted(KEYS))) or "?"
    rule_id = r.text("id")
    if rule_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", rule_id):
        r.fail("id", f"rule id {rule_id!r} may use only letters, digits, '_', '.' and '-'")
    if r.kind == "?":
        return None
    _check_keys(r)
    common = _common(r)
    fields = _BUILDERS[r.kind](r)
    common["extra"].update(fields.pop("extra", {}))
    _check_every(r, common.get("every_s"), fields.get("window_s"))
    if r.errors:
        return None
    return Rule(id=rule_id, version=rule_version(r.t), kind=r.kind, source_line=r.block.header,
                **common, **fields)


def _check_every(r: _Reader, every_s: int | None, window_s: int | None) -> None:
    """Record an evaluation interval longer than the window (no-data rules: the silence
    limit): a short spike between two evaluations would then go unseen."""
    if every_s and window_s and every_s > window_s:
        r.fail("every", f"'every' ({every_s} s) must not be longer than the "
                        f"{'silent limit' if r.kind == 'nodata' else 'window'} ({window_s} s): "
                        "what happens between two evaluations would go unseen")


def _check_keys(r: _Reader) -> None:
    """Record every key the rule's kind does not know, with the nearest known key."""
    allowed = KEYS[r.kind]
    for key in r.t:
        if key in allowed:
            continue
        elsewhere = [k for k, keys in sorted(KEYS.items()) if key in keys]
        if elsewhere:
            hint = f"; it applies to kind {', '.join(elsewhere)}"
        else:
            near = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
        r.fail(key, f"unknown key {key!r} for kind {r.kind!r}{hint}")


def _common(r: _Reader) -> dict[str, Any]:
    """Return the Rule fields every kind shares."""
    extra: dict[str, Any] = {}
    if r.has("description"):
        extra["description"] = r.text("description")
    if r.has("regions"):
        extra["regions"] = _regions(r)
    return {
        "title_zh": r.text("title_zh"),
        "title_en": r.text("title_en"),
        "case": r.choice("case", CASES, "none"),
        "for_s": r.duration("for", 0),
        "clear_for_s": r.duration("clear_for", 0),
        "lateness_s": r.duration("lateness", 120),
        "every_s": r.duration("every", 0),
        "extra": extra,
    }


def _regions(r: _Reader) -> tuple[str, ...]:
    value = r.get("regions", ())
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        r.fail("regions", "'regions' must be a non-empty list of region ids")
        return ()
    unknown = [v for v in value if r.ctx.regions and v not in r.ctx.regions]
    if unknown:
        r.fail("regions", f"unknown region id {unknown[0]!r}"
                          + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    return tuple(value)


def _metric(r: _Reader, default: Any = _MISSING) -> str | None:
    """Return the metric after checking it against the known metrics and categories."""
    metric = r.text("metric", default)
    if metric is None:
        return None
    if r.kind == "count":
        if not metric.startswith("incident:"):
            r.fail("metric", f"count rules count incident reports: metric must be "
                             f"'incident:<category>' or {ANY_INCIDENT!r}, not {metric!r}")
        elif metric != ANY_INCIDENT and metric not in r.ctx.metrics:
            r.fail("metric", f"unknown incident category {metric.split(':', 1)[1]!r}")
        return metric
    if metric not in r.ctx.metrics:
        near = difflib.get_close_matches(metric, sorted(r.ctx.metrics), n=1)
        r.fail("metric", f"unknown metric {metric!r}" + (f"; did you mean {near[0]!r}?"
                                                          if near else ""))
    return metric


def _window(r: _Reader, min_buckets: int = 1) -> int | None:
    """Return the window in seconds after checking that it is whole buckets."""
    window, bucket = r.duration("window"), r.ctx.bucket_s
    if window is None:
        return None
    if window < bucket * min_buckets:
        need = "the" if min_buckets == 1 else f"{min_buckets} x the"
        r.fail("window", f"window {window} s is shorter than {need} {bucket} s bucket")
    elif window % bucket:
        r.fail("window", f"window {window} s is not a multiple of the {bucket} s bucket")
    return window


def _scope(r: _Reader) -> tuple[Scope | None, int | None]:
    """Return (scope, res); res is checked for cell scope and refused for the others."""
    scope = r.choice("scope", tuple(s.value for s in Scope), "cell")
    res = r.integer("res", 7, 10, 10)
    if scope is not None and scope != "cell" and r.has("res"):
        r.fail("res", f"'res' applies only to scope = \"cell\", not {scope!r}")
    return (Scope(scope) if scope else None), res


def _check_clear(r: _Reader, key: str, op: str, threshold: float, clear: float,
                 line: int | None = None, name: str = "") -> None:
    """Record a clear level on the wrong side: hysteresis needs it on the good side."""
    good = clear < threshold if op == ">=" else clear > threshold
    if clear != threshold and not good:
        side = "below" if op == ">=" else "above"
        where = f"level {name!r}: " if name else ""
        r.fail(key, f"{where}clear {clear:g} must be {side} threshold {threshold:g} "
                    f"for op {op!r}", line)


def _plain_level(r: _Reader, op: str | None, key: str = "threshold",
                 name: str = "alert") -> tuple[Level, ...]:
    """Return the single Level of a rule without a ladder."""
    threshold = r.number(key)
    clear = r.number("clear", threshold)
    severity = r.integer("severity", 1, 4, 2)
    if op and threshold is not None and clear is not None:
        _check_clear(r, "clear", op, threshold, clear)
    return (Level(name, severity, threshold, clear),)


def _ladder(r: _Reader, op: str | None) -> tuple[Level, ...]:
    """Return the Levels of a severity ladder, least severe first."""
    for key in ("threshold", "clear", "severity"):
        if r.has(key):
            r.fail(key, f"{key!r} and 'levels' exclude each other: put it in each level")
    raw = r.t["levels"]
    if not isinstance(raw, list) or not raw or not all(isinstance(x, dict) for x in raw):
        r.fail("levels", "'levels' must be a non-empty list of tables "
                         "{name, severity, threshold, clear}")
        return ()
    levels = [_level(r, op, i, item) for i, item in enumerate(raw)]
    levels = [lv for lv in levels if lv is not None]
    for prev, (i, lv) in zip(levels, list(enumerate(levels))[1:], strict=False):
        worse = lv.threshold > prev.threshold if op == ">=" else lv.threshold < prev.threshold
        if op and not worse:
            order = "increasing" if op == ">=" else "decreasing"
            r.fail("levels", f"level {lv.name!r}: thresholds must be strictly {order} "
                             f"for op {op!r} ({lv.threshold:g} after {prev.threshold:g})",
                   _level_line(r, i))
        if lv.severity < prev.severity:
            r.fail("levels", f"level {lv.name!r}: severity {lv.severity} is below the "
                             f"previous level's {prev.severity}", _level_line(r, i))
    names = [lv.name for lv in levels]
    if len(set(names)) != len(names):
        r.fail("levels", "level names must be unique")
    return tuple(levels)


def _level_line(r: _Reader, i: int) -> int:
    lines = r.block.subtables
    return lines[i] if i < len(lines) else r.block.keys.get("levels", r.block.header)


def _level(r: _Reader, op: str | None, i: int, item: dict[str, Any]) -> Level | None:
    """Return one ladder Level, or None after recording its problems."""
    line, before = _level_line(r, i), len(r.errors)
    unknown = sorted(set(item) - {"name", "severity", "threshold", "clear"})
    if unknown:
        r.fail("levels", f"level {i + 1}: unknown key {unknown[0]!r} "
                         "(a level has name, severity, threshold, clear)", line)
    name, severity, threshold = item.get("name"), item.get("severity"), item.get("threshold")
    clear = item.get("clear", threshold)
    if not isinstance(name, str) or not name:
        r.fail("levels", f"level {i + 1}: 'name' must be a non-empty string", line)
    if type(severity) is not int or not 1 <= severity <= 4:
        r.fail("levels", f"level {i + 1}: 'severity' must be a whole number from 1 to 4", line)
    for key, value in (("threshold", threshold), ("clear", clear)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            r.fail("levels", f"level {i + 1}: {key!r} must be a number, not {value!r}", line)
    if len(r.errors) > before:
        return None
    if op:
        _check_clear(r, "levels", op, float(threshold), float(clear), line, name)
    return Level(name, severity, float(threshold), float(clear))


# --- kinds: each returns the Rule fields its kind decides --------------------------------


def _threshold(r: _Reader) -> dict[str, Any]:
    op = r.choice("op", OPS, ">=")
    scope, res = _scope(r)
    if r.has("levels"):
        levels = _ladder(r, op)
    elif r.has("threshold"):
        levels = _plain_level(r, op)
    else:
        r.fail(None, "missing required key 'threshold' (or 'levels' for a ladder) "
                     "for kind 'threshold'")
        levels = ()
    if r.has("dwell") and not r.has("levels"):
        r.fail("dwell", "'dwell' applies only to ladders (rules with 'levels')")
    return {"metric": _metric(r), "stat": r.choice("stat", STATS), "window_s": _window(r),
            "scope": scope, "res": res, "op": op, "levels": levels,
            "dwell_s": r.duration("dwell", 0)}


def _rate(r: _Reader) -> dict[str, Any]:
    op = r.choice("op", OPS, ">=")
    scope, res = _scope(r)
    # The change is last bucket minus first bucket, so the window needs two of them.
    return {"metric": _metric(r), "stat": "mean", "window_s": _window(r, min_buckets=2),
            "scope": scope, "res": res, "op": op, "levels": _plain_level(r, op)}


def _count(r: _Reader) -> dict[str, Any]:
    if r.integer("count", 1, 1_000_000) is None:
        levels: tuple[Level, ...] = ()
    else:
        levels = _plain_level(r, ">=", key="count")
    return {"metric": _metric(r), "stat": "count", "window_s": _window(r),
            "scope": Scope.CELL, "res": r.integer("res", 7, 10, 10), "op": ">=",
            "levels": levels, "ring_k": r.integer("ring", 0, 5, 1)}


def _nodata(r: _Reader) -> dict[str, Any]:
    silent = r.duration("silent")
    source = r.choice("source", SOURCES, "sensor")
    if silent is not None and silent <= 0:
        r.fail("silent", "'silent' must be longer than 0 s")
    fields = {"metric": _metric(r, None), "stat": "max", "window_s": silent,
              "scope": Scope.SENSOR, "res": 10, "op": ">=", "silent_s": silent,
              "levels": (Level("fault", r.integer("severity", 1, 4, 2), float(silent or 0),
                               float(silent or 0)),)}
    # Rule has no field for it yet: the engine needs it to tell sensors from stations.
    fields["extra"] = {"source": source}
    return fields


def _forecast(r: _Reader) -> dict[str, Any]:
    scope, res = _scope(r)
    window = _window(r, min_buckets=FIT_MIN_POINTS)
    points = r.integer("min_points", FIT_MIN_POINTS, 100_000, FIT_DEFAULT_POINTS)
    if window is not None and points is not None and window // r.ctx.bucket_s < points:
        r.fail("window", f"window {window} s holds {window // r.ctx.bucket_s} buckets, fewer "
                         f"than min_points = {points}: too short for a fit")
    horizon = r.duration("horizon")
    if horizon is not None and horizon <= 0:
        r.fail("horizon", "'horizon' must be longer than 0 s")
    elif horizon is not None and window and horizon > HORIZON_PER_WINDOW * window:
        r.fail("horizon", f"horizon {horizon} s is more than {HORIZON_PER_WINDOW} x the "
                          f"{window} s window: a trend that short says nothing so far ahead")
    rate = r.number("min_rate")
    if rate is not None and rate <= 0:
        r.fail("min_rate", f"'min_rate' must be above 0 (a rise per hour), not {rate:g}")
    return {"metric": _metric(r), "stat": "mean", "window_s": window, "scope": scope,
            "res": res, "op": ">=", "levels": _plain_level(r, ">="), "horizon_s": horizon,
            "min_rate": rate, "min_points": points}


_BUILDERS: Final[dict[str, Callable[[_Reader], dict[str, Any]]]] = {
    "threshold": _threshold, "rate": _rate, "count": _count, "nodata": _nodata,
    "forecast": _forecast,
}
