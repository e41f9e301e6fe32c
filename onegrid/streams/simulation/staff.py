"""Simulated staff for the demo day: what the command centre, departments and grid
workers do next with each case, and when.

Deterministic: the choice for a case depends only on the seed, the case id,
its seq and how many commands were already tried at that seq, so the same
run makes the same choices. Most cases run the happy path; a share is
returned (退单), dispatched against the remit first (and corrected), verified
by the handler first (and refused), resolved late, or rated dissatisfied and
reopened, so every state and refusal appears in a day.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from onegrid.alerts.actors import Role, Staff

COMMAND_STAFF = ("CC-01", "CC-02")
RETURN_SHARE = 0.12  # of dispatched cases, returned once (退单)
RETURN_AGAIN_SHARE = 0.3  # of those dispatched again, returned again: arbitration
WRONG_DISPATCH_SHARE = 0.06
SELF_VERIFY_SHARE = 0.05
DISMISS_SHARE = 0.5
DISSATISFIED_SHARE = 0.15


@dataclass(frozen=True)
class Planned:
    """A command message to send at `at` (UTC), for a case at `seq`."""

    at: datetime
    case_id: str
    seq: int
    message: dict[str, Any]


def _rng(seed: int, case_id: str, seq: int, attempt: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}|{case_id}|{seq}|{attempt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def department_staff(staff: Staff) -> dict[str, str]:
    """Return dept_id -> the actor id of its duty officer (first listed)."""
    out: dict[str, str] = {}
    for actor in staff.actors.values():
        if actor.role == Role.DEPARTMENT:
            out.setdefault(actor.dept_id, actor.actor_id)
    return out


def _verifier(case: Mapping[str, Any], staff: Staff) -> str | None:
    """Return a grid worker of the case's community who did not handle it."""
    for actor in staff.actors.values():
        if (actor.role == Role.GRID_WORKER and actor.community_id == case["community_id"]
                and actor.actor_id != case["handler"]):
            return actor.actor_id
    return None


def next_command(case: Mapping[str, Any], staff: Staff, duty: Mapping[str, str], seed: int,
                 attempt: int = 0, other_department: str | None = None) -> Planned | None:
    """Return the next command staff send for a case (a `cases` row), or None when
    nobody acts on it any more. `other_department` is one whose remit does not
    cover the case (for the occasional wrong dispatch)."""
    rng = _rng(seed, case["case_id"], case["seq"], attempt)
    chief = COMMAND_STAFF[rng.randrange(len(COMMAND_STAFF))]
    dept = duty.get(case["department"] or "")
    state = case["state"]

    def plan(action: str, actor: str | None, lo: float, hi: float, **fields) -> Planned | None:
        if actor is None:
            return None
        at = case["updated_at"] + timedelta(minutes=rng.uniform(lo, hi) + attempt)
        return Planned(at, case["case_id"], case["seq"], {
            "command_id": f"demo-{case['case_id']}-{case['seq']}-{attempt}",
            "case_id": case["case_id"], "action": action, "actor": actor,
            "expected_seq": case["seq"], **fields})

    if state == "suggested":
        if rng.random() < DISMISS_SHARE:
            return plan("dismiss", chief, 2, 10, reason="误报：传感器读数已恢复")
        return plan("approve", chief, 2, 10)
    if state in ("new", "returned"):
        if attempt == 0 and other_department and rng.random() < WRONG_DISPATCH_SHARE:
            return plan("dispatch", chief, 3, 15, department=other_department)
        return plan("dispatch", chief, 3, 15, department=case["department"])
    if state == "arbitration":
        return plan("arbitrate", chief, 10, 40, reason="指挥中心裁定，由兜底单位处置")
    if state == "dispatched":
        share = RETURN_SHARE if case["returns"] == 0 else RETURN_AGAIN_SHARE
        if case["returns"] < 2 and rng.random() < share:
            return plan("return", dept, 5, 30, reason="不属于本部门职责范围",
                        reason_code="not_our_remit")
        return plan("accept", dept, 5, 30)
    if state == "reopened":
        return plan("accept", dept, 5, 30)
    if state == "accepted":
        return plan("start", case["handler"] or dept, 5, 20)
    if state == "in_progress":
        # Some take longer than an urgent case's 2 h: they go overdue and escalate.
        return plan("resolve", case["handler"] or dept, 20, 180, note="已处置，现场恢复")
    if state == "resolved":
        if attempt == 0 and rng.random() < SELF_VERIFY_SHARE:
            return plan("verify", case["handler"], 5, 20)
        return plan("verify", _verifier(case, staff) or chief, 10, 60)
    if state == "verified":
        return plan("close", chief, 5, 20)
    if state == "closed" and case["origin"] == "report" and case["satisfaction"] is None:
        dissatisfied = rng.random() < DISSATISFIED_SHARE and case["reopens"] == 0
        return plan("feedback", chief, 30, 120,
                    satisfaction="dissatisfied" if dissatisfied else "satisfied",
                    note="回访：市民" + ("不满意，问题仍在" if dissatisfied else "满意"))
    return None
