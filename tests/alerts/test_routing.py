"""Routing by the remit list: lead and assisting departments, workers, fallback owners."""

from __future__ import annotations

from dataclasses import replace

import pytest

from onegrid.alerts.routing import (
    covers,
    fallback_owner,
    kind_department,
    load_fallback_owners,
    region_chain,
    route,
)
from onegrid.geo.registry import RegistryError
from tests.alerts.casekit import GRID

CHAIN = ("CN-01-01-01", "CN-01-01", "CN-01", "CN")


def routed(directory, category, grid_id=GRID, registry=None):
    return route(category, grid_id, registry or directory.registry, directory.regions,
                 directory.staff, directory.fallback_owners)


def test_region_chain_runs_from_grid_to_district(directory):
    assert region_chain(directory.regions, GRID) == CHAIN
    assert region_chain(directory.regions, None) == ()
    assert region_chain(directory.regions, "nowhere") == ()


@pytest.mark.parametrize(("category", "lead", "assisting"), [
    ("exposed_garbage", "CN-lhsr", ("CN-cg",)),
    ("road_waterlogging", "CN-sw", ("CN-jt", "CN-yj")),
    ("gas_leak", "CN-yj", ("CN-xf", "CN-zj")),
    ("streetlight_fault", "CN-jt", ()),
])
def test_lead_is_the_district_bureau_of_the_lead_kind(directory, category, lead, assisting):
    r = routed(directory, category)
    assert (r.lead, r.assisting) == (lead, assisting)


def test_route_lists_the_grid_workers_and_the_fallback_owner(directory):
    r = routed(directory, "exposed_garbage")
    assert r.workers == ("GW-00001",) and r.grid_id == GRID and r.fallback == "CN-zhzx"


def test_city_bureau_leads_where_no_district_bureau_covers(directory):
    remits = tuple(row for row in directory.registry.remits if row[0] != "CN-lhsr")
    r = routed(directory, "exposed_garbage", registry=replace(directory.registry,
                                                              remits=remits))
    assert r.lead == "SH-lhsr"
    assert routed(directory, "exposed_garbage", grid_id=None).lead == "SH-lhsr"


def test_fallback_owner_leads_when_no_department_of_the_kind_covers(directory):
    remits = tuple(row for row in directory.registry.remits if not row[0].endswith("-lhsr"))
    r = routed(directory, "bin_overflow", registry=replace(directory.registry, remits=remits))
    assert r.lead == "CN-zhzx"


def test_covers_honours_category_and_region_wildcards(directory):
    remits = directory.registry.remits
    assert covers("CN-lhsr", "exposed_garbage", CHAIN, remits)
    assert not covers("CN-lhsr", "exposed_garbage", ("HP-01-01-01", "HP-01-01", "HP-01", "HP"),
                      remits)
    assert not covers("CN-lhsr", "gas_leak", CHAIN, remits)
    assert covers("SH-lhsr", "exposed_garbage", (), remits)
    assert covers("CN-zhzx", "gas_leak", CHAIN, remits)


def test_fallback_owner_is_the_most_specific_listed_region(directory):
    deps = directory.registry.departments
    owners = {"*": "SH-zhzx", "CN": "CN-zhzx", "CN-01": "CN-cg"}
    assert fallback_owner(CHAIN, deps, owners) == "CN-cg"
    assert fallback_owner(("HP-01-01-01", "HP-01-01", "HP-01", "HP"), deps, owners) == "SH-zhzx"
    assert fallback_owner(CHAIN, deps, {}) == "CN-zhzx"  # without a file: the district's centre
    assert fallback_owner((), deps, {}) == "SH-zhzx"


def test_demo_city_fallback_owners_are_the_district_operations_centres(directory):
    owners = load_fallback_owners()
    assert owners["*"] == "SH-zhzx" and owners["CN"] == "CN-zhzx" and len(owners) == 8


@pytest.mark.parametrize(("text", "where", "what"), [
    ("region,dept\nCN,CN-zhzx\n", 1, "missing column"),
    ("region_id,dept_id\nCN,CN-zhzx\nHP,NOPE\n", 3, "unknown department 'NOPE'"),
    ("region_id,dept_id\nCN,CN-zhzx\nCN,CN-cg\n", 3, "two fallback owners"),
])
def test_bad_fallback_owner_rows_name_file_and_line(directory, tmp_path, text, where, what):
    (tmp_path / "fallback_owners.csv").write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"fallback_owners.csv:{where}: .*{what}"):
        load_fallback_owners(tmp_path, directory.registry.departments)


def test_kind_department_prefers_the_district(directory):
    deps = directory.registry.departments
    assert kind_department("xf", "CN", deps) == "CN-xf"
    assert kind_department("xf", None, deps) == "SH-xf"
    assert kind_department("nope", "CN", deps) is None
