"""Routing: a category and a grid -> the lead department, assisting ones, the grid's workers.

The remit list (权责清单, `remits.csv`) says which department handles which
category in which region; `route` picks, for the category's lead kind, the
department whose remit covers the case's region, preferring the district
bureau of the case's district over the city bureau, and does the same for
each assisting kind. It also names the fallback owner (兜底) that takes a case
the command centre arbitrates after repeated returns.

Why a `fallback_owners.csv`: the demo city has no street offices among its
departments, so the fallback owner of each district is its city operations
centre (区城运中心, kind `zhzx`), whose remit covers every category, and `*`
names the city's. A real city lists its street offices there (region_id = a
street id), and the most specific region of the case's chain wins. Without a
file, the district's `zhzx` department is used, then the city's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from onegrid.alerts.actors import Staff
from onegrid.geo.regions import Regions
from onegrid.geo.registry import DEMO_CITY_DIR, Department, Registry, RegistryError, csv_rows

WILDCARD: Final = "*"
COMMAND_CENTRE_KIND: Final = "zhzx"


@dataclass(frozen=True)
class Routing:
    """Where a case goes: lead and assisting department ids, the grid and its workers."""

    lead: str | None
    assisting: tuple[str, ...]
    grid_id: str | None
    workers: tuple[str, ...]
    fallback: str | None


def route(category: str, grid_id: str | None, registry: Registry, regions: Regions,
          staff: Staff, fallback_owners: Mapping[str, str] | None = None) -> Routing:
    """Return the routing of a case of `category` in `grid_id` (None: outside the city).

    The lead is the department of the category's `lead_kind` whose remit
    covers the case's region, the district's bureau before the city's; when no
    department of that kind covers it, the fallback owner leads.
    """
    chain = region_chain(regions, grid_id)
    fallback = fallback_owner(chain, registry.departments, fallback_owners or {})
    cat = registry.categories.get(category)
    if cat is None:
        return Routing(fallback, (), grid_id, _workers(staff, grid_id), fallback)
    district = chain[-1] if chain else ""
    lead = pick(cat.lead_kind, category, chain, district, registry) or fallback
    assisting = []
    for kind in cat.assist_kinds:
        dept = pick(kind, category, chain, district, registry)
        if dept and dept != lead and dept not in assisting:
            assisting.append(dept)
    return Routing(lead, tuple(assisting), grid_id, _workers(staff, grid_id), fallback)


def pick(kind: str, category: str, chain: tuple[str, ...], district: str,
         registry: Registry) -> str | None:
    """Return the department of `kind` whose remit covers the category in the chain,
    the bureau of `district` first, then a city bureau; None when none covers it."""
    candidates = [d for d in registry.departments.values() if d.kind == kind
                  and covers(d.dept_id, category, chain, registry.remits)]
    candidates.sort(key=lambda d: (d.district_id != district, d.district_id != "", d.dept_id))
    return candidates[0].dept_id if candidates else None


def kind_department(kind: str, district_id: str | None,
                    departments: Mapping[str, Department]) -> str | None:
    """Return the department of `kind` in the district, else the city's; None when none.

    Used where a kind is told rather than assigned (a plan's notify list), so
    no remit is checked.
    """
    found = sorted((d.district_id != (district_id or ""), d.district_id != "", d.dept_id)
                   for d in departments.values() if d.kind == kind)
    return found[0][2] if found else None


def covers(dept_id: str, category: str, region_chain: Iterable[str],
           remits: tuple[tuple[str, str, str], ...]) -> bool:
    """Return whether the department's remit covers `category` in any region of the chain.

    A remit row (dept_id, category_code, region_id) with `*` as category covers
    every category, with `*` as region the whole city.
    """
    regions = {WILDCARD, *region_chain}
    return any(cat in (category, WILDCARD) and region in regions
               for cat, region in _remit_index(remits).get(dept_id, ()))


def region_chain(regions: Regions, grid_id: str | None) -> tuple[str, ...]:
    """Return (grid, community, street, district) ids of a grid; () for None or unknown."""
    if not grid_id:
        return ()
    return _chains(regions).get(grid_id, ())


def fallback_owner(chain: tuple[str, ...], departments: Mapping[str, Department],
                   owners: Mapping[str, str]) -> str | None:
    """Return the fallback owner (兜底) of the most specific region in `chain` that has one.

    Without a listed owner: the district's command centre, then the city's.
    """
    for region in (*chain, WILDCARD):
        if region in owners:
            return owners[region]
    district = chain[-1] if chain else ""
    centres = sorted((d.district_id != district, d.district_id != "", d.dept_id)
                     for d in departments.values() if d.kind == COMMAND_CENTRE_KIND)
    return centres[0][2] if centres else None


def load_fallback_owners(folder: Path | None = None,
                         departments: Mapping[str, Department] | None = None) -> dict[str, str]:
    """Return region id -> fallback owner from `fallback_owners.csv` ({} when absent).

    Raises `RegistryError` naming the file and line of a bad row.
    """
    path = (Path(folder) if folder else DEMO_CITY_DIR) / "fallback_owners.csv"
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line, row in csv_rows(path, ("region_id", "dept_id")):
        where, region, dept = f"{path}:{line}", row["region_id"], row["dept_id"]
        if departments is not None and dept not in departments:
            raise RegistryError(f"{where}: unknown department {dept!r}")
        if region in out:
            raise RegistryError(f"{where}: region {region!r} has two fallback owners")
        out[region] = dept
    return out


def _workers(staff: Staff, grid_id: str | None) -> tuple[str, ...]:
    return staff.by_grid.get(grid_id, ()) if grid_id else ()


_REMITS: dict[int, tuple[tuple, dict[str, list[tuple[str, str]]]]] = {}
# id(remits) -> (remits, dept_id -> its (category, region) rows)
_CHAINS: dict[int, tuple[Regions, dict[str, tuple[str, ...]]]] = {}
# id(regions) -> (regions, grid_id -> (grid, community, street, district))


def _remit_index(remits: tuple[tuple[str, str, str], ...]) -> dict[str, list[tuple[str, str]]]:
    cached = _REMITS.get(id(remits))
    if cached is None or cached[0] is not remits:
        index: dict[str, list[tuple[str, str]]] = {}
        for dept, cat, region in remits:
            index.setdefault(dept, []).append((cat, region))
        cached = _REMITS[id(remits)] = (remits, index)
    return cached[1]


def _chains(regions: Regions) -> dict[str, tuple[str, ...]]:
    cached = _CHAINS.get(id(regions))
    if cached is None or cached[0] is not regions:
        parent = {level: regions.levels[level]["parent_id"].to_dict()
                  for level in ("grid", "community", "street")}
        chains = {}
        for grid in regions.levels["grid"].index:
            community = parent["grid"].get(grid)
            street = parent["community"].get(community)
            chains[str(grid)] = tuple(
                str(r) for r in (grid, community, street, parent["street"].get(street)) if r)
        cached = _CHAINS[id(regions)] = (regions, chains)
    return cached[1]
