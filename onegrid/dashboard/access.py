"""What a signed-in user may see: the scope of every read, and masking of personal data.

Every query of the dashboard is scoped on the server by the actor's role,
department and region; hiding something in the page is never the guard. A
`Scope` turns an actor into SQL conditions over the store's tables (cases,
alerts, events) and into the same decision for one case in Python
(`sees_case`); a test keeps the two in step. What an actor may *do* is
`alerts.actors`' (the engine checks it again): a department sees the cases it
leads or assists, a grid worker the cases of their grid (a grid chief: the
community) and the resolved cases of their community to verify, an
environmental officer the environment cases of their region, everyone else
their region (`*`: the city). Reporter names and phones (个人信息) are masked
for every role but the command centre, which calls reporters back (回访).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import numpy as np

from onegrid.alerts.actors import CITY_WIDE, ENVIRONMENT_GROUP, Actor, Role
from onegrid.alerts.cases import CaseState
from onegrid.geo.regions import Regions
from onegrid.geo.registry import Registry

# Roles that see reporters' names and phones unmasked.
PERSONAL_DATA_ROLES: Final = frozenset({Role.COMMAND})
# Metrics whose alerts belong to the environment (an env officer's alert queue).
ENVIRONMENT_METRICS: Final = ("pm25", "pm10", "no2", "so2", "o3", "co")
_REGION_COLUMNS: Final = ("grid_id", "community_id", "street_id", "district_id")


@dataclass(frozen=True, eq=False)
class Scope:
    """The part of the city and of the casework one actor may see."""

    actor: Actor
    registry: Registry
    regions: Regions
    environment_rules: frozenset[str] = frozenset()  # ids of rules over pollutants

    @property
    def city_wide(self) -> bool:
        """Return True when the actor's region is the whole city."""
        return self.region_id == CITY_WIDE

    @property
    def region_id(self) -> str:
        """Return the region the actor sees: their own, or their department's district."""
        if self.actor.role == Role.DEPARTMENT:
            dept = self.registry.departments.get(self.actor.dept_id)
            return (dept.district_id if dept else "") or CITY_WIDE
        return self.actor.region_id

    @cached_property
    def grid_ids(self) -> tuple[str, ...]:
        """Return the grids in the actor's region (all of them city-wide)."""
        grids = self.regions.levels["grid"].index.to_numpy()
        if self.city_wide:
            return tuple(grids)
        ids = self.regions.cell_ids
        mask = np.zeros(len(self.regions.cells), dtype=bool)
        for column in _REGION_COLUMNS:
            mask |= ids[column] == self.region_id
        return tuple(sorted(set(ids["grid_id"][mask])))

    @cached_property
    def environment_categories(self) -> tuple[str, ...]:
        """Return the categories of the environment group."""
        return tuple(sorted(c.code for c in self.registry.categories.values()
                            if c.group == ENVIRONMENT_GROUP))

    @property
    def sees_personal_data(self) -> bool:
        """Return True when the actor may see reporters' names and phones."""
        return self.actor.role in PERSONAL_DATA_ROLES

    # -- SQL -----------------------------------------------------------------

    def region_sql(self, grid_column: str = "grid_id") -> tuple[str, list[Any]]:
        """Return (condition, params) keeping rows whose grid lies in the actor's region."""
        if self.city_wide:
            return "true", []
        return f"{grid_column} IN (SELECT unnest(?::VARCHAR[]))", [list(self.grid_ids)]

    def case_sql(self, table: str = "cases") -> tuple[str, list[Any]]:
        """Return (condition, params) over `cases` columns: the cases the actor sees."""
        a, t = self.actor, f"{table}."
        if a.role == Role.DEPARTMENT:
            return (f"({t}department = ? OR list_contains({t}assisting, ?))",
                    [a.dept_id, a.dept_id])
        if a.role == Role.GRID_WORKER:
            return (f"(? IN ({t}grid_id, {t}community_id) OR ({t}community_id = ? AND "
                    f"{t}state = ?))", [a.region_id, a.community_id, str(CaseState.RESOLVED)])
        region, params = self._case_region_sql(t)
        if a.role == Role.ENV_OFFICER:
            return (f"({t}category IN (SELECT unnest(?::VARCHAR[])) AND {region})",
                    [list(self.environment_categories), *params])
        return region, params

    def alert_sql(self, table: str = "alerts") -> tuple[str, list[Any]]:
        """Return (condition, params) over `alerts` columns: the alerts the actor sees."""
        region, params = self.region_sql(f"{table}.grid_id")
        if self.actor.role == Role.ENV_OFFICER:
            return (f"({table}.rule_id IN (SELECT unnest(?::VARCHAR[])) AND {region})",
                    [sorted(self.environment_rules), *params])
        return region, params

    def _case_region_sql(self, t: str) -> tuple[str, list[Any]]:
        if self.city_wide:
            return "true", []
        cols = ", ".join(f"{t}{c}" for c in _REGION_COLUMNS)
        return f"(? IN ({cols}))", [self.region_id]

    # -- Python --------------------------------------------------------------

    def sees_case(self, case: Mapping[str, Any]) -> bool:
        """Return whether the actor sees this case (a `cases` row or dict)."""
        a = self.actor
        if a.role == Role.DEPARTMENT:
            return case.get("department") == a.dept_id or a.dept_id in (case.get("assisting")
                                                                          or ())
        if a.role == Role.GRID_WORKER:
            return (a.region_id in (case.get("grid_id"), case.get("community_id"))) or (
                case.get("community_id") == a.community_id
                and case.get("state") == CaseState.RESOLVED)
        in_region = self.city_wide or self.region_id in (case.get(c) for c in _REGION_COLUMNS)
        if a.role == Role.ENV_OFFICER:
            return case.get("category") in self.environment_categories and in_region
        return in_region

    def sees_grid(self, grid_id: str | None) -> bool:
        """Return whether a grid lies in the actor's region."""
        return self.city_wide or (grid_id is not None and grid_id in set(self.grid_ids))


def mask_name(name: str | None) -> str | None:
    """Return a name with all but its first character hidden (张三 -> 张*)."""
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    """Return a phone number with its middle hidden (13912345678 -> 139****5678)."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****" + digits[-4:]


def masked_rows(scope: Scope, rows: Iterable[Mapping[str, Any]],
                fields: Sequence[tuple[str, str]] = (("reporter_name", "name"),
                                                     ("reporter_phone", "phone"))
                ) -> list[dict[str, Any]]:
    """Return rows with reporter names and phones masked unless the scope may see them.

    `fields` pairs a column with its kind (`name` or `phone`).
    """
    out = [dict(r) for r in rows]
    if scope.sees_personal_data:
        return out
    maskers = {"name": mask_name, "phone": mask_phone}
    for row in out:
        for column, kind in fields:
            if column in row:
                row[column] = maskers[kind](row[column])
    return out
