"""Commands on cases: one small function per action, and `apply_command` in front.

`apply_command(case, command, ctx, now)` checks, in this order, that the
actor exists, that their role and scope allow the action on this case
(`actors`), that the case has not moved on since they looked (`expected_seq`)
and that its state allows the action (`cases.TRANSITIONS`); then the
action's function decides. It returns `Applied` (the changed cases and their
log entries) or a `Rejection` (a stable `CaseError` code and a sentence a
person can act on); a refused command changes nothing. Merge and split are
in `merging`; the records are in `cases`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from onegrid.alerts import merging, sla
from onegrid.alerts.actors import Actor, refusal
from onegrid.alerts.cases import (
    Action,
    Applied,
    Case,
    CaseError,
    CaseState,
    Command,
    LogEntry,
    Rejection,
    SourceLink,
    StepMark,
    can,
    record,
)
from onegrid.alerts.directory import CaseContext
from onegrid.alerts.intake import base_cell, key_category
from onegrid.alerts.opening import (
    case_id_for,
    dispatch_to,
    open_case,
    place_of,
    remit_covers,
)
from onegrid.alerts.routing import fallback_owner, kind_department

__all__ = ["Action", "Applied", "CaseError", "Command", "Rejection", "apply_command",
           "command_from_dict"]

S = CaseState
E = CaseError
Handler = Callable[[Case, Command, Actor, CaseContext, datetime], "Applied | Rejection"]


def apply_command(case: Case | None, command: Command, ctx: CaseContext,
                  now: datetime) -> Applied | Rejection:
    """Return what the command decides on `case` (None for `open`) at `now`, or why not."""
    actor = ctx.directory.staff.get(command.actor)
    if actor is None:
        return Rejection(E.UNKNOWN_ACTOR, f"{command.actor!r} is not in the staff register; "
                                          "sign in with a registered account")
    action = Action.OVERRIDE if command.action == Action.DISPATCH and command.override \
        else Action(command.action)
    if action == Action.OPEN:
        if case is not None:
            return Rejection(E.BAD_STATE, f"case {case.case_id} already exists; "
                                          "open a new case without a case id")
        return _open(command, actor, ctx, now)
    if case is None:
        return Rejection(E.UNKNOWN_CASE, f"there is no case {command.case_id!r}; "
                                         "check the id or refresh the list")
    why = refusal(actor, action, case, ctx.directory.registry.categories)
    if why:
        return Rejection(E.NOT_ALLOWED, f"{why}; ask the command centre")
    if command.expected_seq is not None and command.expected_seq != case.seq:
        return Rejection(E.STALE, f"case {case.case_id} changed since you saw it (step "
                                  f"{command.expected_seq}, now {case.seq}); reload and retry")
    if not can(action, case.state):
        return Rejection(E.BAD_STATE, f"cannot {action} case {case.case_id} while it is "
                                      f"{case.state}")
    return HANDLERS[action](case, command, actor, ctx, now)


def command_from_dict(fields: Mapping[str, Any]) -> Command:
    """Return the Command of a decoded `onegrid.commands` message (a dict by field name).

    `at` may be ISO-8601 with an offset or epoch milliseconds; lists become
    tuples; fields the engine does not use are ignored.
    """
    known = {f.name for f in dataclass_fields(Command)}
    values = {k: v for k, v in fields.items() if k in known and v is not None}
    at = values["at"]
    if isinstance(at, int | float):
        values["at"] = datetime.fromtimestamp(at / 1000, UTC)
    elif isinstance(at, str):
        values["at"] = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)
    else:  # already decoded (msgspec hands ISO-8601 over as an aware datetime)
        values["at"] = at.astimezone(UTC)
    for key in ("other_case_ids", "source_ids"):
        values[key] = tuple(values.get(key, ()))
    values["action"] = Action(values["action"])
    return Command(**{"case_id": None, **values})


def one(pair: tuple[Case, LogEntry], *more: tuple[Case, LogEntry]) -> Applied:
    """Return the Applied of one or more (case, entry) pairs on the same case."""
    pairs = (pair, *more)
    return Applied((pairs[-1][0],), tuple(e for _, e in pairs))


def _open(command: Command, actor: Actor, ctx: CaseContext, now: datetime) -> Applied | Rejection:
    """Open a case by hand (受理), routed; dispatch it at once when a department is named."""
    if command.alert_id:
        return _open_from_alert(command, actor, ctx, now)
    d = ctx.directory
    if not command.category:
        return Rejection(E.MISSING_FIELD, "say what the case is about: give a category")
    if command.category not in d.registry.categories:
        return Rejection(E.UNKNOWN_CATEGORY, f"{command.category!r} is not in the category "
                                             "catalogue; pick one from the list")
    place = place_of(d, grid_id=command.grid_id, lat=command.lat, lng=command.lng)
    if not place.in_city:
        return Rejection(E.OUT_OF_AREA, "the place is outside the city's grids; "
                                        "give a point or grid inside the city")
    severity = command.severity or d.registry.categories[command.category].default_severity
    case, entry, steps = open_case(
        command.case_id or case_id_for("staff", command.command_id), command.category, place,
        severity=severity, origin="staff", actor=actor.actor_id, now=now, directory=d,
        title=command.title, note=command.note, reason=command.reason)
    why = refusal(actor, Action.OPEN, case, d.registry.categories)
    if why:
        return Rejection(E.NOT_ALLOWED, f"{why}; ask the command centre")
    if not command.department:
        return Applied((case,), (entry,), steps=steps)
    sent = _dispatch(case, command, actor, ctx, now)
    if isinstance(sent, Rejection):
        return sent
    return Applied(sent.cases, (entry, *sent.entries), steps=steps)


def _open_from_alert(command: Command, actor: Actor, ctx: CaseContext,
                     now: datetime) -> Applied | Rejection:
    """Open a case from an alert (the alert queue's 立案): where the alert is, of its
    rule's category (or the command's), with the alert as its first source."""
    d = ctx.directory
    alert = ctx.alerts.get(command.alert_id or "")
    if alert is None:
        return Rejection(E.UNKNOWN_ALERT, f"there is no alert {command.alert_id!r}; "
                                          "refresh the alert queue")
    if command.alert_id in ctx.alert_cases:
        return Rejection(E.BAD_STATE, f"alert {command.alert_id} already belongs to case "
                                      f"{ctx.alert_cases[command.alert_id]}")
    category = command.category or d.rule_categories.get(alert["rule_id"]) \
        or key_category(alert.get("key") or "")
    if not category or category not in d.registry.categories:
        return Rejection(E.MISSING_FIELD, f"rule {alert['rule_id']} names no category; "
                                          "give one from the catalogue")
    cell = base_cell(alert.get("cell"))
    place = place_of(d, cell=cell, grid_id=alert.get("grid_id"))
    if not place.in_city:
        return Rejection(E.OUT_OF_AREA, f"alert {command.alert_id} lies outside the city's grids")
    severity = command.severity or int(alert.get("severity") or 1)
    case, entry, steps = open_case(
        case_id_for("alert", command.alert_id), category, place, severity=severity,
        origin="alert", actor=actor.actor_id, now=now, directory=d, title=command.title,
        rule_id=alert["rule_id"], note=command.note,
        reason=command.reason or f"alert {command.alert_id} ({alert['rule_id']})",
        source_id=command.alert_id)
    why = refusal(actor, Action.OPEN, case, d.registry.categories)
    if why:
        return Rejection(E.NOT_ALLOWED, f"{why}; ask the command centre")
    link = SourceLink("alert", command.alert_id, case.case_id, category, cell,
                      alert["started_at"], severity)
    opened = Applied((case,), (entry,), sources=(link,), steps=steps)
    if not command.department:
        return opened
    sent = _dispatch(case, command, actor, ctx, now)
    if isinstance(sent, Rejection):
        return sent
    return Applied(sent.cases, (entry, *sent.entries), sources=(link,), steps=steps)


def _approve(case: Case, c: Command, actor: Actor, ctx: CaseContext, now: datetime) -> Applied:
    return one(record(case, replace(case, state=S.NEW), Action.APPROVE, actor.actor_id, now,
                      reason=c.reason, note=c.note))


def _dismiss(case: Case, c: Command, actor: Actor, ctx: CaseContext,
             now: datetime) -> Applied | Rejection:
    if not c.reason:
        return _needs_reason("dismiss a suggested case")
    return one(record(case, replace(case, state=S.DISMISSED, closed_at=now), Action.DISMISS,
                      actor.actor_id, now, reason=c.reason, note=c.note))


def _dispatch(case: Case, c: Command, actor: Actor, ctx: CaseContext,
              now: datetime) -> Applied | Rejection:
    """Dispatch to the named department (default: routing's lead); outside its remit
    only as a logged override with a reason."""
    dept = c.department or case.department
    if not dept or dept not in ctx.directory.registry.departments:
        return Rejection(E.UNKNOWN_DEPARTMENT, f"department {dept!r} is not in the register; "
                                               "pick one from the list")
    overriding = c.override or c.action == Action.OVERRIDE
    if remit_covers(case, dept, ctx.directory):
        return one(dispatch_to(case, dept, actor.actor_id, now, ctx.directory, reason=c.reason,
                               note=c.note))
    if not overriding:
        return Rejection(E.REMIT_REFUSED, f"{dept}'s remit does not cover {case.category} in "
                                          f"{case.district_id or 'this place'}; dispatch to "
                                          f"{case.department} or override with a reason")
    if not c.reason:
        return _needs_reason("override the remit list")
    return one(dispatch_to(case, dept, actor.actor_id, now, ctx.directory,
                           action=Action.OVERRIDE, reason=c.reason, note=c.note, override=True))


def _accept(case: Case, c: Command, actor: Actor, ctx: CaseContext, now: datetime) -> Applied:
    return one(record(case, replace(case, state=S.ACCEPTED, handler=actor.actor_id),
                      Action.ACCEPT, actor.actor_id, now, note=c.note))


def _start(case: Case, c: Command, actor: Actor, ctx: CaseContext, now: datetime) -> Applied:
    return one(record(case, replace(case, state=S.IN_PROGRESS), Action.START, actor.actor_id,
                      now, note=c.note))


def _resolve(case: Case, c: Command, actor: Actor, ctx: CaseContext, now: datetime) -> Applied:
    new = replace(case, state=S.RESOLVED, handler=actor.actor_id, resolved_at=now)
    return one(record(case, new, Action.RESOLVE, actor.actor_id, now, note=c.note,
                      reason=c.reason, photo_url=c.photo_url))


def _verify(case: Case, c: Command, actor: Actor, ctx: CaseContext,
            now: datetime) -> Applied | Rejection:
    if actor.actor_id == case.handler:
        return Rejection(E.SELF_VERIFY, f"{actor.actor_id} handled case {case.case_id}; "
                                        "someone else must verify it")
    return one(record(case, replace(case, state=S.VERIFIED), Action.VERIFY, actor.actor_id,
                      now, note=c.note, photo_url=c.photo_url))


def _close(case: Case, c: Command, actor: Actor, ctx: CaseContext, now: datetime) -> Applied:
    return one(record(case, replace(case, state=S.CLOSED, closed_at=now), Action.CLOSE,
                      actor.actor_id, now, note=c.note))


def _return(case: Case, c: Command, actor: Actor, ctx: CaseContext,
            now: datetime) -> Applied | Rejection:
    """Return a wrongly routed case (退单); the `max_returns`-th return goes to arbitration."""
    if not c.reason:
        return _needs_reason("return a case")
    returns = case.returns + 1
    if returns >= ctx.directory.max_returns:
        new = sla.pause(replace(case, state=S.ARBITRATION, returns=returns), now)
    else:
        new = replace(case, state=S.RETURNED, returns=returns)
    return one(record(case, new, Action.RETURN, actor.actor_id, now, reason=c.reason,
                      note=c.note, reason_code=c.reason_code))


def _arbitrate(case: Case, c: Command, actor: Actor, ctx: CaseContext,
               now: datetime) -> Applied | Rejection:
    """The command centre assigns an arbitrated case: to the named department or the
    fallback owner (兜底), remit or not; the paused clock runs again."""
    d = ctx.directory
    fallback = fallback_owner(case.regions, d.registry.departments, d.fallback_owners)
    dept = c.department or fallback
    if not dept or dept not in d.registry.departments:
        return Rejection(E.UNKNOWN_DEPARTMENT, f"department {dept!r} is not in the register; "
                                               "pick one from the list")
    return one(dispatch_to(sla.resume(case, now), dept, actor.actor_id, now, d,
                           action=Action.ARBITRATE, reason=c.reason, note=c.note,
                           fallback=dept == fallback))


def _reopen(case: Case, c: Command, actor: Actor, ctx: CaseContext,
            now: datetime) -> Applied | Rejection:
    if not c.reason:
        return _needs_reason("reopen a case")
    return one(reopened(case, actor.actor_id, now, ctx, c.reason, c.note))


def reopened(case: Case, actor: str, now: datetime, ctx: CaseContext, reason: str | None,
             note: str | None = None) -> tuple[Case, LogEntry]:
    """Return the case back with the same department on a fresh clock, and the entry."""
    due = sla.due_at(now, case.category, ctx.directory.registry, ctx.directory.calendar)
    new = replace(case, state=S.REOPENED, reopens=case.reopens + 1, handler=None,
                  dispatched_at=now, due_at=due, escalation_level=0, resolved_at=None,
                  closed_at=None)
    return record(case, new, Action.REOPEN, actor, now, reason=reason, note=note)


def _feedback(case: Case, c: Command, actor: Actor, ctx: CaseContext,
              now: datetime) -> Applied | Rejection:
    """Record the follow-up call (回访); a dissatisfied answer reopens the case."""
    if c.satisfaction not in ("satisfied", "dissatisfied"):
        return Rejection(E.MISSING_FIELD, "give the answer: satisfied or dissatisfied")
    first = record(case, replace(case, satisfaction=c.satisfaction), Action.FEEDBACK,
                   actor.actor_id, now, note=c.note, satisfaction=c.satisfaction)
    if c.satisfaction == "satisfied":
        return one(first)
    return one(first, reopened(first[0], actor.actor_id, now, ctx,
                               c.reason or "reporter dissatisfied at follow-up"))


def _escalate(case: Case, c: Command, actor: Actor, ctx: CaseContext,
              now: datetime) -> Applied | Rejection:
    level = case.escalation_level + 1
    if level >= len(sla.LADDER):
        return Rejection(E.BAD_STATE, f"case {case.case_id} is already at the city level")
    return one(record(case, replace(case, escalation_level=level), Action.ESCALATE,
                      actor.actor_id, now, reason=c.reason, note=c.note,
                      **{"from": sla.LADDER[level - 1], "to": sla.LADDER[level]}))


def _press(case: Case, c: Command, actor: Actor, ctx: CaseContext,
           now: datetime) -> Applied | Rejection:
    """Press for action (督办): on record against the lead department, with why."""
    if not c.reason:
        return _needs_reason("press for action")
    return one(record(case, case, Action.PRESS, actor.actor_id, now, reason=c.reason,
                      note=c.note, overdue=sla.is_overdue(case, now)))


def _comment(case: Case, c: Command, actor: Actor, ctx: CaseContext,
             now: datetime) -> Applied | Rejection:
    if not c.note and not c.photo_url:
        return Rejection(E.MISSING_FIELD, "write a note or attach a photo")
    return one(record(case, case, Action.COMMENT, actor.actor_id, now, note=c.note,
                      photo_url=c.photo_url))


def _step(case: Case, c: Command, actor: Actor, ctx: CaseContext,
          now: datetime) -> Applied | Rejection:
    """Tick one step of the case's emergency plan."""
    plan = ctx.directory.plans.get(case.plan_id or "")
    if plan is None:
        return Rejection(E.NO_PLAN, f"case {case.case_id} has no emergency plan")
    step = plan.step(c.step_id or "")
    if step is None:
        return Rejection(E.UNKNOWN_STEP, f"plan {plan.plan_id} has no step {c.step_id!r}; "
                                         f"its steps: {', '.join(s.step_id for s in plan.steps)}")
    if step.step_id in case.steps_done:
        return Rejection(E.BAD_STATE, f"step {step.step_id} is already done")
    new = replace(case, steps_done=(*case.steps_done, step.step_id))
    done = one(record(case, new, Action.STEP, actor.actor_id, now, note=c.note,
                      step_id=step.step_id))
    order = plan.steps.index(step) + 1
    mark = StepMark(case.case_id, plan.plan_id, step.step_id, order, step.text_zh,
                    step.text_en, step.dept_kind, actor.actor_id, now)
    return replace(done, steps=(mark,))


def _notify(case: Case, c: Command, actor: Actor, ctx: CaseContext,
            now: datetime) -> Applied | Rejection:
    """Notify every department of the plan at once (联动): one entry per department."""
    plan = ctx.directory.plans.get(case.plan_id or "")
    if plan is None:
        return Rejection(E.NO_PLAN, f"case {case.case_id} has no emergency plan")
    depts = dict.fromkeys(kind_department(k, case.district_id, ctx.directory.registry.departments)
                          for k in plan.notify)
    pairs, current = [], case
    for dept in (d for d in depts if d):
        pair = record(current, current, Action.NOTIFY, actor.actor_id, now, department=dept,
                      reason=c.reason, note=c.note, plan_id=plan.plan_id)
        pairs.append(pair)
        current = pair[0]
    return one(*pairs) if pairs else Rejection(E.NO_PLAN, "the plan names no department")


def _needs_reason(what: str) -> Rejection:
    return Rejection(E.MISSING_REASON, f"give a reason to {what}")


# action -> the function that decides it (open has its own path: there is no case yet).
HANDLERS: Final[dict[Action, Handler]] = {
    Action.APPROVE: _approve, Action.DISMISS: _dismiss, Action.DISPATCH: _dispatch,
    Action.OVERRIDE: _dispatch, Action.ACCEPT: _accept, Action.START: _start,
    Action.RESOLVE: _resolve, Action.VERIFY: _verify, Action.CLOSE: _close,
    Action.RETURN: _return, Action.ARBITRATE: _arbitrate, Action.REOPEN: _reopen,
    Action.FEEDBACK: _feedback, Action.ESCALATE: _escalate, Action.PRESS: _press,
    Action.COMMENT: _comment, Action.STEP: _step, Action.NOTIFY: _notify,
    Action.MERGE: merging.merge, Action.SPLIT: merging.split,
}
