"""Alert reads: the live alert queue, one alert with its evidence, who acknowledged what.

Scoped by `Scope.alert_sql`. The queue holds pending and firing alerts,
worst first; each row says whether it is acknowledged (and by whom) and
which case, if any, it already belongs to. Evidence is the ids and readings
of the events that made the alert's value, and the events themselves.
"""

from __future__ import annotations

from typing import Any, Final

from onegrid.dashboard.access import Scope, masked_rows
from onegrid.geo.store import Store

QUEUE_LIMIT: Final = 200
_ALERT_COLUMNS: Final = ("a.alert_id, a.rule_id, a.rule_version, a.key, a.state, a.level, "
                         "a.severity, a.cell, a.grid_id, a.value, a.threshold, a.started_at, "
                         "a.updated_at, a.since, a.evidence, a.evidence_values, a.silenced")


def alert_queue(store: Store, scope: Scope, *, states: tuple[str, ...] = ("firing", "pending"),
                limit: int = QUEUE_LIMIT) -> list[dict[str, Any]]:
    """Return live alerts the scope sees, firing before pending, severest and newest first,
    each with `acked_by`, `acked_at` and `case_id` (None when not acknowledged or no case)."""
    where, params = scope.alert_sql("a")
    return store.query(f"""
        SELECT {_ALERT_COLUMNS}, k.actor AS acked_by, k."at" AS acked_at, s.case_id
        FROM alerts a
        LEFT JOIN (SELECT alert_id, arg_max(actor, "at") AS actor, max("at") AS "at"
                   FROM alert_acks GROUP BY alert_id) k USING (alert_id)
        LEFT JOIN case_sources s ON s.kind = 'alert' AND s.source_id = a.alert_id
        WHERE a.state IN (SELECT unnest(?::VARCHAR[])) AND {where}
        ORDER BY a.state = 'firing' DESC, a.severity DESC, a.updated_at DESC, a.alert_id
        LIMIT ?
    """, [list(states), *params, limit]).to_pylist()


def alert_row(store: Store, scope: Scope, alert_id: str) -> dict[str, Any] | None:
    """Return one alert (any state) if the scope sees it, else None."""
    where, params = scope.alert_sql("a")
    rows = store.query(f"""
        SELECT {_ALERT_COLUMNS}, s.case_id FROM alerts a
        LEFT JOIN case_sources s ON s.kind = 'alert' AND s.source_id = a.alert_id
        WHERE a.alert_id = ? AND {where}""", [alert_id, *params]).to_pylist()
    return rows[0] if rows else None


def alert_history(store: Store, scope: Scope, alert_id: str) -> list[dict[str, Any]]:
    """Return a visible alert's transitions in order (previous -> state, value, reason)."""
    if alert_row(store, scope, alert_id) is None:
        return []
    return store.query(
        'SELECT previous, state, level, severity, value, threshold, "at", reason, silenced '
        'FROM alert_transitions WHERE alert_id = ? ORDER BY "at", recorded_at',
        [alert_id]).to_pylist()


def evidence_events(store: Store, scope: Scope, alert: dict[str, Any],
                    limit: int = 50) -> list[dict[str, Any]]:
    """Return the stored events an alert names as its evidence (masked), oldest first."""
    ids = list(alert.get("evidence") or [])[:limit]
    if not ids:
        return []
    rows = store.query("""
        SELECT id, topic, ts, source_id, metric, value, pm25, pm10, no2, so2, o3, co,
               category, source, description, reporter_name, reporter_phone, grid_id, cell
        FROM events WHERE id IN (SELECT unnest(?::VARCHAR[])) ORDER BY ts, id
    """, [ids]).to_pylist()
    return masked_rows(scope, rows)
