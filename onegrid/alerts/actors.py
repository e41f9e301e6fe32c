"""The staff register and their rights: who may do which action on which case.

Staff come from two files of the city folder: `staff.csv` (command centre,
department staff, environmental officers, admins, supervisors) and
`grid_workers.csv`, whose rows are loaded as actors of role `grid_worker`
(a grid chief, 网格长, has no grid and acts for the whole community). The
engine checks an actor's rights again before applying any command, so a
command forged past the dashboard changes nothing. Whether the case's state
allows the action is `cases.TRANSITIONS`; remits are `routing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from onegrid.alerts.cases import Action, Case
from onegrid.geo.registry import DEMO_CITY_DIR, Category, Department, csv_rows

CITY_WIDE: Final = "*"
ENVIRONMENT_GROUP: Final = "environment"  # categories.csv `group` an env officer works on


class Role(StrEnum):
    """An actor's role (contract words of the login)."""

    COMMAND = "command"  # 指挥中心: city-wide, every action
    DEPARTMENT = "department"  # 职能部门 staff: their department's cases
    GRID_WORKER = "grid_worker"  # 网格员 / 网格长: cases in their grid (community for a chief)
    ENV_OFFICER = "env_officer"  # 环保人员: environment cases
    ADMIN = "admin"  # 管理员: rules and users; comments only on cases
    SUPERVISOR = "supervisor"  # 监督: press for action, escalate, comment


class StaffError(ValueError):
    """A staff file is missing or has a bad row; the message names file and line."""


@dataclass(frozen=True)
class Actor:
    """A person who acts on cases. `region_id` is a grid, community, district or `*`."""

    actor_id: str
    name: str
    role: Role
    dept_id: str
    region_id: str
    phone: str = ""
    community_id: str = ""  # grid workers: the community of their grid

    @property
    def is_chief(self) -> bool:
        """Return True for a grid chief (网格长), whose region is a community."""
        return self.role == Role.GRID_WORKER and self.region_id == self.community_id


@dataclass(frozen=True)
class Staff:
    """Every actor by id, and the grid workers of each grid."""

    actors: Mapping[str, Actor]
    by_grid: Mapping[str, tuple[str, ...]]  # grid_id -> ids of its grid workers

    def get(self, actor_id: str) -> Actor | None:
        """Return the actor with this id, or None."""
        return self.actors.get(actor_id)


# role -> the actions it may ask for at all; `in_scope` then limits the cases.
ROLE_ACTIONS: Final[dict[Role, frozenset[Action]]] = {
    Role.COMMAND: frozenset(Action),
    Role.SUPERVISOR: frozenset({Action.PRESS, Action.ESCALATE, Action.COMMENT}),
    Role.ADMIN: frozenset({Action.COMMENT}),
    Role.ENV_OFFICER: frozenset({Action.OPEN, Action.COMMENT, Action.VERIFY}),
    Role.DEPARTMENT: frozenset({Action.ACCEPT, Action.START, Action.RESOLVE, Action.RETURN,
                                Action.COMMENT, Action.STEP, Action.ESCALATE}),
    Role.GRID_WORKER: frozenset({Action.OPEN, Action.ACCEPT, Action.START, Action.RESOLVE,
                                 Action.VERIFY, Action.COMMENT, Action.STEP, Action.ESCALATE}),
}
# Actions an assisting department (协办单位) may take on a case it assists.
ASSIST_ACTIONS: Final = frozenset({Action.COMMENT, Action.STEP})


def refusal(actor: Actor, action: Action, case: Case,
            categories: Mapping[str, Category]) -> str | None:
    """Return why `actor` may not take `action` on `case`, or None when they may.

    For `open`, `case` is the case the command would create.
    """
    if action not in ROLE_ACTIONS[actor.role]:
        return f"a {actor.role} may not {action} a case"
    if not in_scope(actor, action, case, categories):
        return f"case {case.case_id} is outside {actor.actor_id}'s {_scope_word(actor)}"
    return None


def in_scope(actor: Actor, action: Action, case: Case,
             categories: Mapping[str, Category]) -> bool:
    """Return whether the case lies within the actor's department or region for `action`."""
    role = actor.role
    if role == Role.COMMAND:
        return True
    if role == Role.DEPARTMENT:
        return case.department == actor.dept_id or (
            action in ASSIST_ACTIONS and actor.dept_id in case.assisting)
    if role == Role.GRID_WORKER:
        if action == Action.VERIFY:  # any grid of their community, never their own work
            return bool(case.community_id) and case.community_id == actor.community_id
        return actor.region_id in (case.grid_id, case.community_id) and bool(actor.region_id)
    if role == Role.ENV_OFFICER:
        category = categories.get(case.category)
        in_group = category is not None and category.group == ENVIRONMENT_GROUP
        return in_group and in_region(actor, case)
    return in_region(actor, case)


def in_region(actor: Actor, case: Case) -> bool:
    """Return whether the case lies in the actor's region (`*` is the whole city)."""
    return actor.region_id == CITY_WIDE or actor.region_id in case.regions


def load_staff(folder: Path | None = None,
               departments: Mapping[str, Department] | None = None) -> Staff:
    """Return the staff of the city in `folder` (default: the demo city).

    With `departments`, every actor's department must be one of them. Raises
    `StaffError` naming the file and line of the first bad row.
    """
    folder = Path(folder) if folder else DEMO_CITY_DIR
    actors: dict[str, Actor] = {}
    lines: dict[str, str] = {}  # actor id -> "file:line" where it was first given
    for where, actor in [*_staff_rows(folder / "staff.csv"),
                         *_worker_rows(folder / "grid_workers.csv")]:
        if actor.actor_id in actors:
            raise StaffError(f"{where}: duplicate actor id {actor.actor_id!r} "
                             f"(first at {lines[actor.actor_id]})")
        if departments is not None and actor.dept_id and actor.dept_id not in departments:
            raise StaffError(f"{where}: unknown department {actor.dept_id!r}")
        actors[actor.actor_id], lines[actor.actor_id] = actor, where
    return Staff(actors, _by_grid(actors.values()))


def _staff_rows(path: Path) -> list[tuple[str, Actor]]:
    out = []
    for line, r in _rows(path, ("actor_id", "name", "role", "dept_id", "region_id", "phone")):
        where = f"{path}:{line}"
        try:
            role = Role(r["role"])
        except ValueError:
            raise StaffError(f"{where}: unknown role {r['role']!r} "
                             f"(one of {', '.join(Role)})") from None
        if not r["actor_id"] or not r["region_id"]:
            raise StaffError(f"{where}: actor_id and region_id must not be empty")
        out.append((where, Actor(r["actor_id"], r["name"], role, r["dept_id"], r["region_id"],
                                 r["phone"])))
    return out


def _worker_rows(path: Path) -> list[tuple[str, Actor]]:
    out = []
    for line, r in _rows(path, ("worker_id", "name", "grid_id", "community_id", "phone")):
        region = r["grid_id"] or r["community_id"]  # a chief's region is the community
        if not r["worker_id"] or not region:
            raise StaffError(f"{path}:{line}: worker_id and grid_id or community_id "
                             "must not be empty")
        out.append((f"{path}:{line}", Actor(r["worker_id"], r["name"], Role.GRID_WORKER, "",
                                            region, r["phone"], r["community_id"])))
    return out


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Return (line number, row) pairs of a staff CSV, values stripped."""
    return [(line, {k: (v or "").strip() for k, v in row.items() if k})
            for line, row in csv_rows(path, required, StaffError)]


def _by_grid(actors) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a in actors:
        if a.role == Role.GRID_WORKER and not a.is_chief:
            out.setdefault(a.region_id, []).append(a.actor_id)
    return {grid: tuple(ids) for grid, ids in out.items()}


def _scope_word(actor: Actor) -> str:
    if actor.role == Role.DEPARTMENT:
        return f"department {actor.dept_id}"
    if actor.role == Role.ENV_OFFICER:
        return f"environment remit in {actor.region_id}"
    return f"region {actor.region_id}"
