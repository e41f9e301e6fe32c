"""The staff register: loading it, and the rights of each role."""

from __future__ import annotations

import pytest

from onegrid.alerts.actors import Role, StaffError, load_staff, refusal
from onegrid.alerts.cases import Action
from tests.alerts.casekit import new_case


def test_staff_has_every_role_and_one_actor_per_department(directory):
    staff = directory.staff
    roles = {a.role for a in staff.actors.values()}
    assert roles == set(Role)
    depts = {a.dept_id for a in staff.actors.values() if a.role == Role.DEPARTMENT}
    assert depts == set(directory.registry.departments)


def test_grid_workers_come_from_grid_workers_csv(directory):
    worker, chief = directory.staff.get("GW-00001"), directory.staff.get("GC-0001")
    assert (worker.role, worker.region_id, worker.community_id) == \
        (Role.GRID_WORKER, "CN-01-01-01", "CN-01-01")
    assert chief.is_chief and chief.region_id == "CN-01-01"
    assert directory.staff.by_grid["CN-01-01-01"] == ("GW-00001",)


@pytest.mark.parametrize(("actor", "action", "allowed"), [
    ("CC-01", Action.ARBITRATE, True),
    ("CC-01", Action.MERGE, True),
    ("SV-01", Action.PRESS, True),
    ("SV-01", Action.DISPATCH, False),
    ("AD-01", Action.COMMENT, True),
    ("AD-01", Action.ACCEPT, False),
    ("ST-CN-lhsr", Action.RESOLVE, True),
    ("ST-CN-lhsr", Action.VERIFY, False),
    ("ST-CN-cg", Action.COMMENT, True),  # assisting department
    ("ST-CN-cg", Action.RESOLVE, False),
    ("ST-HP-lhsr", Action.ACCEPT, False),
    ("GW-00001", Action.ACCEPT, True),
    ("GC-0001", Action.ACCEPT, True),  # the grid chief of the community
    ("GW-00002", Action.ACCEPT, False),  # a neighbouring grid
    ("GW-00002", Action.VERIFY, True),  # ... but the same community
])
def test_rights_by_role_and_scope(directory, actor, action, allowed):
    case = new_case(directory)  # exposed garbage in CN-01-01-01, led by CN-lhsr
    why = refusal(directory.staff.get(actor), action, case, directory.registry.categories)
    assert (why is None) == allowed, why


def test_bad_staff_rows_name_file_and_line(tmp_path):
    (tmp_path / "staff.csv").write_text(
        "actor_id,name,role,dept_id,region_id,phone\nA,a,command,SH-zhzx,*,1\n"
        "B,b,janitor,SH-zhzx,*,2\n", encoding="utf-8")
    (tmp_path / "grid_workers.csv").write_text(
        "worker_id,name,grid_id,community_id,role,phone\n", encoding="utf-8")
    with pytest.raises(StaffError, match=r"staff.csv:3: unknown role 'janitor'"):
        load_staff(tmp_path)


def test_duplicate_actor_across_files_is_refused(tmp_path):
    (tmp_path / "staff.csv").write_text(
        "actor_id,name,role,dept_id,region_id,phone\nGW-1,a,command,SH-zhzx,*,1\n",
        encoding="utf-8")
    (tmp_path / "grid_workers.csv").write_text(
        "worker_id,name,grid_id,community_id,role,phone\nGW-1,w,G,C,worker,2\n",
        encoding="utf-8")
    with pytest.raises(StaffError, match=r"grid_workers.csv:2: duplicate actor id 'GW-1' "
                                         r"\(first at .*staff.csv:2\)"):
        load_staff(tmp_path)


def test_unknown_department_is_refused(tmp_path):
    (tmp_path / "staff.csv").write_text(
        "actor_id,name,role,dept_id,region_id,phone\nA,a,command,XX,*,1\n", encoding="utf-8")
    (tmp_path / "grid_workers.csv").write_text(
        "worker_id,name,grid_id,community_id,role,phone\n", encoding="utf-8")
    with pytest.raises(StaffError, match=r"staff.csv:2: unknown department 'XX'"):
        load_staff(tmp_path, {"SH-zhzx": None})
