"""Acknowledging an alert (确认告警): the command centre has seen it and owns it.

An acknowledgement is a command on `onegrid.commands` with action
`acknowledge` and an `alert_id`; it changes no alert state (the rule alone
decides pending, firing and resolved) but goes on record in `alert_acks`
with who, when and a note, so the alert queue shows who took an alert and a
second operator does not pick it up again. Who may acknowledge: the command
centre, any alert; an environmental officer, the alerts of environment rules
in their region. Pure: the caller reads the alert rows and writes what
comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from onegrid.alerts.actors import CITY_WIDE, ENVIRONMENT_GROUP, Actor, Role
from onegrid.alerts.cases import CaseError, Rejection
from onegrid.alerts.directory import Directory

ACKNOWLEDGE: Final = "acknowledge"


@dataclass(frozen=True)
class Acknowledgement:
    """An acknowledgement asked for (from a command) or recorded (a row of `alert_acks`)."""

    command_id: str
    alert_id: str
    actor: str
    at: datetime
    note: str | None = None


def acknowledgement_from_dict(fields: Mapping[str, Any]) -> Acknowledgement:
    """Return the acknowledgement a decoded `acknowledge` command asks for."""
    at = fields["at"]
    if isinstance(at, int | float):
        at = datetime.fromtimestamp(at / 1000, UTC)
    elif isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return Acknowledgement(fields["command_id"], fields.get("alert_id") or "", fields["actor"],
                           at.astimezone(UTC), fields.get("note"))


def decide(ack: Acknowledgement, alert: Mapping[str, Any] | None, directory: Directory,
           region_of: Mapping[str, tuple[str, ...]]) -> Acknowledgement | Rejection:
    """Return the acknowledgement to record, or why not.

    `alert` is the `alerts` row (None: no such alert); `region_of` maps a
    grid id to its grid, community, street and district ids.
    """
    actor = directory.staff.get(ack.actor)
    if actor is None:
        return Rejection(CaseError.UNKNOWN_ACTOR, f"{ack.actor!r} is not in the staff register; "
                                                  "sign in with a registered account")
    if alert is None:
        return Rejection(CaseError.UNKNOWN_ALERT, f"there is no alert {ack.alert_id!r}; "
                                                  "refresh the alert queue")
    why = _refusal(actor, alert, directory, region_of)
    if why:
        return Rejection(CaseError.NOT_ALLOWED, f"{why}; ask the command centre")
    return ack


def _refusal(actor: Actor, alert: Mapping[str, Any], directory: Directory,
             region_of: Mapping[str, tuple[str, ...]]) -> str | None:
    if actor.role == Role.COMMAND:
        return None
    if actor.role != Role.ENV_OFFICER:
        return f"a {actor.role} may not acknowledge alerts"
    category = directory.registry.categories.get(
        directory.rule_categories.get(alert["rule_id"], ""))
    if category is None or category.group != ENVIRONMENT_GROUP:
        return f"alert {alert['alert_id']} is not an environment alert"
    regions = region_of.get(alert.get("grid_id") or "", ())
    if actor.region_id != CITY_WIDE and actor.region_id not in regions:
        return f"alert {alert['alert_id']} is outside region {actor.region_id}"
    return None
