"""The alert lifecycle: one rule's observations at one scope key -> pending, firing, resolved.

This module owns what a value means over time: when a bad value starts an
alert (pending), when it has held long enough to fire (`for`), when a firing
alert steps up or down its severity ladder (`dwell`), and when it resolves
(below `clear` for `clear_for`: hysteresis, so a value hovering around the
threshold makes one alert, not a storm). It decides from data and the
observations' event times only; it never reads the clock and never writes.
Computing the values belongs to `kinds/`, evidence and storage to
`evaluation` and the engine, notification to `silences` and `producer`.

Choices the contract leaves open:

- A new alert always records `pending` first. With `for = 0` the same
  observation also records `firing`, so every alert's history has the same
  shape (pending -> firing -> resolved) and its start is on the topic.
- A pending alert whose value leaves the bad side before `for` has passed is
  recorded as `resolved` with the reason "cleared before firing", so the
  record is complete; the key has no live alert afterwards.
- A value of None (no data in the window) changes nothing: it never starts,
  fires, steps or resolves an alert, and the running clock is kept.
- A ladder alert carries the highest level whose threshold the value reaches
  while pending, so a jump straight to red fires red; dwell applies only to
  steps of a firing alert. A step down goes to the highest lower level whose
  `clear` the value has not passed; below the first level's `clear` the alert
  resolves (after `clear_for`) instead of stepping.
- `Alert.since` is when the condition now being waited for began; while
  firing, that condition is the level the value points to (see `_aim`), and
  the previous one is read from `Alert.value`, the last observed value. Both
  change without a transition; `updated_at` moves only with a transition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

import numpy as np

from onegrid.alerts.model import Alert, AlertState, Level, Observation, Rule, Transition

CLEAR = -1  # `_aim` result: the value is on the clear side of the whole ladder

# op -> the comparison that is on the clear side of a level's `clear`, for reasons.
_CLEAR_OP = {">=": "<", "<=": ">"}


def alert_id(rule_id: str, key: str, started_at: datetime) -> str:
    """Return the id of the alert a rule raised at a key at `started_at`.

    Deterministic, so the live engine and a back-test give the same ids.
    """
    return f"{rule_id}:{key}:{int(started_at.timestamp())}"


def is_bad(op: str, value: float, threshold: float) -> bool:
    """Return True when `value` is on the bad side of `threshold` for `op`."""
    return value >= threshold if op == ">=" else value <= threshold


def is_clear(op: str, value: float, clear: float) -> bool:
    """Return True when `value` has passed `clear` towards the good side."""
    return value < clear if op == ">=" else value > clear


def can_start(rule: Rule, value: float | None) -> bool:
    """Return whether a value would start an alert on a key that has none live."""
    return value is not None and _highest_bad(rule, value) != CLEAR


def could_start(rule: Rule, values: np.ndarray) -> np.ndarray:
    """Return `can_start` for an array of values at once (NaN: no data, False).

    A value starts an alert when it is bad for some level, that is, for the
    easiest level to reach: the lowest threshold of a `>=` rule, the highest
    of a `<=` one.
    """
    values = np.asarray(values, dtype=np.float64)
    if not rule.levels:
        return np.zeros(len(values), dtype=bool)
    thresholds = [level.threshold for level in rule.levels]
    with np.errstate(invalid="ignore"):
        if rule.op == ">=":
            return values >= min(thresholds)
        return values <= max(thresholds)


def step(rule: Rule, current: Alert | None,
         obs: Observation) -> tuple[Alert | None, list[Transition]]:
    """Return the key's live alert after one observation, and the transitions it caused.

    `current` is the key's live (pending or firing) alert or None; observations
    for a key must come in non-decreasing `at`. The returned alert is None when
    the key has no live alert afterwards (never started, or resolved).
    """
    if obs.value is None:
        return current, []
    if current is None:
        return _start(rule, obs)
    if current.state == AlertState.PENDING:
        return _pending(rule, current, obs)
    return _firing(rule, current, obs)


def evaluate_all(rule: Rule, alerts: Mapping[str, Alert],
                 observations: Iterable[Observation]) -> tuple[dict[str, Alert], list[Transition]]:
    """Return the live alerts by key after folding in the observations, and the transitions.

    Observations are sorted by (key, at) first, because each key's lifecycle
    must see its values in event-time order; transitions come out in that order.
    Keys without observations keep their alerts unchanged.
    """
    live = dict(alerts)
    transitions: list[Transition] = []
    for obs in sorted(observations, key=lambda o: (o.key, o.at)):
        after, changed = step(rule, live.get(obs.key), obs)
        if after is None:
            live.pop(obs.key, None)
        else:
            live[obs.key] = after
        transitions.extend(changed)
    return live, transitions


def _start(rule: Rule, obs: Observation) -> tuple[Alert | None, list[Transition]]:
    """Start a pending alert when the value is bad; fire it too when `for` is 0."""
    index = _highest_bad(rule, obs.value)
    if index == CLEAR:
        return None, []
    level = rule.levels[index]
    alert = Alert(
        alert_id=alert_id(rule.id, obs.key, obs.at), rule_id=rule.id,
        rule_version=rule.version, key=obs.key, state=AlertState.PENDING, level=level.name,
        severity=level.severity, value=obs.value, threshold=level.threshold,
        started_at=obs.at, updated_at=obs.at, since=obs.at, cell=obs.cell,
        grid_id=obs.grid_id, evidence=obs.evidence)
    started = Transition(alert, None, _bad_reason(rule, obs.value, level))
    if rule.for_s > 0:
        return alert, [started]
    fired, transitions = _pending(rule, alert, obs)
    return fired, [started, *transitions]


def _pending(rule: Rule, current: Alert, obs: Observation) -> tuple[Alert | None, list[Transition]]:
    """Fire a pending alert whose bad side held for `for`; drop it if the value left."""
    index = _highest_bad(rule, obs.value)
    if index == CLEAR:
        level = rule.levels[0]
        gone = _observed(rule, current, obs, state=AlertState.RESOLVED, updated_at=obs.at)
        reason = f"cleared before firing: {_bad_reason(rule, obs.value, level, negate=True)}"
        return None, [Transition(gone, AlertState.PENDING, reason)]
    # The level follows the value while pending, so the alert fires at the level that holds.
    level = rule.levels[index]
    held = _observed(rule, current, obs, level=level.name, severity=level.severity,
                     threshold=level.threshold)
    if _held(obs, current.since) < rule.for_s:
        return held, []
    fired = replace(held, state=AlertState.FIRING, updated_at=obs.at, since=obs.at)
    reason = f"{_bad_reason(rule, obs.value, level)} for {rule.for_s} s"
    return fired, [Transition(fired, AlertState.PENDING, reason)]


def _firing(rule: Rule, current: Alert, obs: Observation) -> tuple[Alert | None, list[Transition]]:
    """Step a firing alert along its ladder after `dwell`, or resolve it after `clear_for`."""
    index = _index_of(rule, current.level)
    aim = _aim(rule, index, obs.value)
    before = index if current.value is None else _aim(rule, index, current.value)
    # A new aim restarts the clock: leaving the clear side (or a level) resets its timer.
    since = current.since if aim == before else obs.at
    held = _observed(rule, current, obs, since=since)
    if aim == index:
        return held, []
    wait = rule.clear_for_s if aim == CLEAR else rule.dwell_s
    if _held(obs, since) < wait:
        return held, []
    if aim == CLEAR:
        return None, [_resolve(rule, held, obs)]
    return _move(rule, held, index, aim, obs)


def _resolve(rule: Rule, held: Alert, obs: Observation) -> Transition:
    """Return the transition that resolves a firing alert below the first level's clear."""
    gone = replace(held, state=AlertState.RESOLVED, updated_at=obs.at)
    clear = rule.levels[0].clear
    reason = f"value {obs.value:g} {_CLEAR_OP[rule.op]} clear {clear:g} for {rule.clear_for_s} s"
    return Transition(gone, AlertState.FIRING, reason)


def _move(rule: Rule, held: Alert, index: int, aim: int,
          obs: Observation) -> tuple[Alert, list[Transition]]:
    """Step a firing alert from level `index` to level `aim` (up or down)."""
    old, new = rule.levels[index], rule.levels[aim]
    moved = replace(held, level=new.name, severity=new.severity, threshold=new.threshold,
                    updated_at=obs.at, since=obs.at)
    if aim > index:
        why = _bad_reason(rule, obs.value, new)
    else:
        why = f"value {obs.value:g} {_CLEAR_OP[rule.op]} clear {old.clear:g}"
    reason = f"level {old.name} -> {new.name}: {why} for {rule.dwell_s} s"
    return moved, [Transition(moved, AlertState.FIRING, reason)]


def _aim(rule: Rule, index: int, value: float) -> int:
    """Return the level a firing alert at level `index` points to, or CLEAR.

    Up: the highest higher level whose threshold the value reaches. Down: when
    the value passed the current level's clear, the highest lower level whose
    clear it has not passed (hysteresis holds a level until its clear).
    """
    levels = rule.levels
    for j in range(len(levels) - 1, index, -1):
        if is_bad(rule.op, value, levels[j].threshold):
            return j
    for j in range(index, -1, -1):
        if not is_clear(rule.op, value, levels[j].clear):
            return j
    return CLEAR


def _highest_bad(rule: Rule, value: float) -> int:
    """Return the index of the highest level whose threshold the value reaches, or CLEAR."""
    for j in range(len(rule.levels) - 1, -1, -1):
        if is_bad(rule.op, value, rule.levels[j].threshold):
            return j
    return CLEAR


def _index_of(rule: Rule, name: str) -> int:
    """Return the ladder index of level `name`; 0 when the rule no longer has it."""
    # A rule edited under a live alert may have renamed its levels: restart at the bottom.
    return next((j for j, lv in enumerate(rule.levels) if lv.name == name), 0)


def _observed(rule: Rule, current: Alert, obs: Observation, **changes: object) -> Alert:
    """Return the alert carrying the observation's value, evidence and place, plus changes.

    The rule's version is refreshed too: a change records the version that decided it.
    `silenced` starts False: `silences` decides it afresh for each change, so a
    flag from an ended silence is not carried forward.
    """
    return replace(current, rule_version=rule.version, value=obs.value, silenced=False,
                   evidence=obs.evidence or current.evidence,
                   cell=current.cell if obs.cell is None else obs.cell,
                   grid_id=obs.grid_id or current.grid_id, **changes)


def _held(obs: Observation, since: datetime) -> float:
    """Return seconds from `since` to the observation."""
    return (obs.at - since).total_seconds()


def _bad_reason(rule: Rule, value: float, level: Level, negate: bool = False) -> str:
    """Return e.g. "value 118 >= 115" (or "value 60 < 75" when `negate`)."""
    op = _CLEAR_OP[rule.op] if negate else rule.op
    return f"value {value:g} {op} {level.threshold:g}"
