"""Reading a ward file: the format, its CSV lists, Unicode forms, and every problem with its line and field."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain.roles import DEPARTMENT_FUNCTIONS, MEMBERSHIP_ROLES, POLICE
from handlers.domain.routing import lead_function
from storage.ward_file import RoleSpec, WardFileError, read_ward_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "ward.example.yaml"

# Line numbers matter: the expected problems below point at them.
BASE = """\
ward: {code: hong-ha, name: Phường Hồng Hà}
routing: {land: hong-ha-kt}
groups:
  - {code: tdp-1, name: Tổ dân phố số 1}
  - {code: tdp-2, name: Tổ dân phố số 2}
departments:
  - {code: hong-ha-ca, name: Công an phường, function: police}
  - {code: hong-ha-kt, name: Phòng Kinh tế, function: economic}
teams:
  - {code: hg-1, name: Tổ hòa giải số 1, group: tdp-1}
people:
  - ref: an
    name: Nguyễn Văn An
    phone: "0912 345 678"
    roles:
      - {role: leader, unit: tdp-1}
      - role: mediator
        unit: hg-1
  - ref: binh
    name: Trần Thị Bình
    roles: [{role: officer, unit: hong-ha-ca}, {role: admin, unit: hong-ha}]
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Files are named relative to the working directory, as an administrator types them."""
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str | bytes) -> Path:
    path = Path(name)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems(text: str | bytes, name: str = "ward.yaml") -> list[str]:
    with pytest.raises(WardFileError) as caught:
        read_ward_file(write(name, text))
    return [str(problem) for problem in caught.value.problems]


def edited(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


# --- valid files -----------------------------------------------------------------------------

def test_base_file_reads_into_units_and_people():
    ward = read_ward_file(write("ward.yaml", BASE))
    assert (ward.ward.code, ward.ward.name, ward.ward.kind) == ("hong-ha", "Phường Hồng Hà", "commune")
    assert [(g.code, g.parent, g.sort_order) for g in ward.groups] == [("tdp-1", "hong-ha", 1), ("tdp-2", "hong-ha", 2)]
    assert [(d.code, d.function) for d in ward.departments] == [("hong-ha-ca", "police"), ("hong-ha-kt", "economic")]
    assert [(t.code, t.kind, t.parent) for t in ward.teams] == [("hg-1", "team", "tdp-1")]
    assert ward.routing == {"land": "hong-ha-kt"}
    an, binh = ward.people
    assert (an.ref, an.name, an.phone) == ("an", "Nguyễn Văn An", "0912 345 678")
    assert an.roles == (RoleSpec("leader", "tdp-1"), RoleSpec("mediator", "hg-1"))
    assert binh.phone is None and binh.roles == (RoleSpec("officer", "hong-ha-ca"), RoleSpec("admin", "hong-ha"))


def test_the_documented_example_is_valid_and_covers_every_role_and_department():
    ward = read_ward_file(EXAMPLE)
    assert len(ward.groups) == 6 and len(ward.teams) == 2
    assert sorted(d.function for d in ward.departments) == sorted(DEPARTMENT_FUNCTIONS)
    assert {role.role for person in ward.people for role in person.roles} == set(MEMBERSHIP_ROLES)
    from_csv = {person.ref: person for person in ward.people if person.origin.file.endswith(".csv")}
    assert len(from_csv) >= 2
    spanning = [person for person in from_csv.values() if len(person.roles) > 1]
    assert spanning and all(person.name and person.phone for person in spanning)


def test_csv_lists_add_groups_and_people_one_row_per_role():
    write("groups.csv", "code,name\ntdp-3,Tổ dân phố số 3\n\n tdp-4 , Tổ dân phố  số 4 \n")
    write("people.csv", "\ufeffref,name,phone,role,unit\n"
                        "cuong,Lê Văn Cường,0987 654 321,leader,tdp-3\n"
                        "cuong,,,mediator,hg-1\n"
                        "dung,Phạm Dũng,,,\n")
    ward = read_ward_file(write("ward.yaml", BASE + "groups_csv: groups.csv\npeople_csv: people.csv\n"))
    assert [(g.code, g.name, g.sort_order) for g in ward.groups][2:] == [
        ("tdp-3", "Tổ dân phố số 3", 3), ("tdp-4", "Tổ dân phố số 4", 4)]
    cuong, dung = ward.people[2:]
    assert (cuong.name, cuong.phone) == ("Lê Văn Cường", "0987 654 321")
    assert cuong.roles == (RoleSpec("leader", "tdp-3"), RoleSpec("mediator", "hg-1"))
    assert (dung.name, dung.phone, dung.roles) == ("Phạm Dũng", None, ())


def test_csv_with_semicolons_as_excel_writes_it_in_vietnam():
    write("people.csv", "ref;name;phone;role;unit\ncuong;Lê Văn Cường;0987654321;leader;tdp-2\n")
    ward = read_ward_file(write("ward.yaml", BASE + "people_csv: people.csv\n"))
    assert ward.people[-1].roles == (RoleSpec("leader", "tdp-2"),)


def test_decomposed_vietnamese_is_normalised_and_matches():
    nfd = unicodedata.normalize("NFD", BASE.replace("tdp-1", "tổ-1"))
    assert nfd != unicodedata.normalize("NFC", nfd)
    ward = read_ward_file(write("ward.yaml", nfd))
    assert ward.ward.name == "Phường Hồng Hà" == unicodedata.normalize("NFC", "Phường Hồng Hà")
    assert ward.groups[0].code == "tổ-1" and ward.teams[0].parent == "tổ-1"
    assert ward.people[0].roles[0] == RoleSpec("leader", "tổ-1")


def test_scalars_are_text_never_yaml_numbers_or_booleans():
    ward = read_ward_file(write("ward.yaml", edited('phone: "0912 345 678"', "phone: 0912345678")
                                .replace("{code: tdp-2, name: Tổ dân phố số 2}", "{code: no, name: 2}")))
    assert ward.people[0].phone == "0912345678"
    assert (ward.groups[1].code, ward.groups[1].name) == ("no", "2")


def test_default_lead_departments_by_function():
    assert [lead_function(f) for f in ("land", "construction", "environment")] == ["economic"] * 3
    assert [lead_function(f) for f in ("family", "labour")] == ["culture"] * 2
    assert {lead_function(f) for f in DISPUTE_FIELDS} - {"economic", "culture"} == {POLICE}


# --- each problem, with its line and field ------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "expected"), [
    ("{code: hong-ha, name: Phường Hồng Hà}", "{code: hong-ha}", "ward.yaml:1: ward.name: missing"),
    ("name: Tổ dân phố số 2}", "name: Tổ dân phố số 2, leader: an}",
     "ward.yaml:5: groups[1].leader: unknown key 'leader' (one of: code, name)"),
    ("{code: tdp-2,", "{code: tdp-1,", "ward.yaml:5: groups[1].code: 'tdp-1' is already used at ward.yaml:4"),
    ("- ref: binh", "- ref: an", "ward.yaml:19: people[1].ref: 'an' is already used at ward.yaml:12"),
    ("{role: leader, unit: tdp-1}", "{role: chairman, unit: tdp-1}",
     ("ward.yaml:16: people[0].roles[0].role: unknown role 'chairman' "
      "(one of: leader, mediator, officer, head, member, admin)")),
    ("{role: leader, unit: tdp-1}", "{role: leader, unit: hong-ha-kt}",
     "ward.yaml:16: people[0].roles[0].unit: a leader is held in a residential group, and 'hong-ha-kt' is a department"),
    ("{role: leader, unit: tdp-1}", "{role: admin, unit: tdp-1}",
     "ward.yaml:16: people[0].roles[0].unit: an admin is held in the ward, and 'tdp-1' is a residential group"),
    ("        unit: hg-1", "        unit: tdp-9", "ward.yaml:18: people[0].roles[1].unit: no unit with code 'tdp-9'"),
    ("{role: officer, unit: hong-ha-ca}", "{role: officer, unit: hong-ha-kt}",
     ("ward.yaml:21: people[1].roles[0].unit: an officer is held in the police department, "
      "and 'hong-ha-kt' is the economic department")),
    ("{role: admin, unit: hong-ha}", "{role: officer, unit: hong-ha-ca}",
     "ward.yaml:21: people[1].roles[1].role: officer in 'hong-ha-ca' is already given at ward.yaml:21"),
    ("function: economic", "function: economy",
     ("ward.yaml:8: departments[1].function: unknown function 'economy' "
      "(one of: police, office, economic, culture, public_service, fatherland_front)")),
    ("function: economic", "function: police",
     ("ward.yaml:8: departments[1].function: 'police' is already the function of 'hong-ha-ca' at ward.yaml:7; "
      "a ward has one department per function")),
    ("{land: hong-ha-kt}", "{land: hong-ha-kt, theft: hong-ha-ca}",
     ("ward.yaml:2: routing.theft: unknown field 'theft' "
      "(one of: land, family, environment, construction, public_order, civil, labour, other)")),
    ("{land: hong-ha-kt}", "{land: hong-ha-xx}", "ward.yaml:2: routing.land: no department with code 'hong-ha-xx'"),
    ("{land: hong-ha-kt}", "{land: tdp-1}",
     "ward.yaml:2: routing.land: 'tdp-1' is a residential group, not a department"),
    ("group: tdp-1}", "group: tdp-7}", "ward.yaml:10: teams[0].group: no residential group with code 'tdp-7'"),
    ("group: tdp-1}", "group: hong-ha-ca}",
     "ward.yaml:10: teams[0].group: 'hong-ha-ca' is a department, not a residential group"),
    ("name: Trần Thị Bình", 'name: "   "', "ward.yaml:20: people[1].name: empty"),
    ("{code: tdp-1, name: Tổ dân phố số 1}", "{code: tdp-1, name: [Tổ 1]}",
     "ward.yaml:4: groups[0].name: expected text, not a list or mapping"),
    ('phone: "0912 345 678"', "phone: 0912-345-678",
     "ward.yaml:14: people[0].phone: '0912-345-678' is not a phone number: use digits, a leading '+' and spaces only"),
    ("- ref: an", "- ref: Nguyễn Văn An",
     "ward.yaml:12: people[0].ref: 'Nguyễn Văn An' is not a code: use letters, digits, '-', '_' and '.', without spaces"),
    ("  - {code: tdp-2, name: Tổ dân phố số 2}", "  - {code: tdp-2, name: A, name: B}",
     "ward.yaml:5: groups[1].name: repeated key (first on line 5)"),
    ("groups:\n", "groups: tdp-1\nx:\n",
     "ward.yaml:3: groups: expected a list (items starting with '- ')"),
], ids=lambda value: value[:30] if isinstance(value, str) else value)
def test_each_problem_names_line_and_field(old, new, expected):
    found = problems(edited(old, new))
    assert expected in found, found


def test_unknown_top_level_key_and_missing_ward():
    found = problems(BASE.replace("ward: {code: hong-ha, name: Phường Hồng Hà}\n", "") + "colour: red\n")
    assert "ward.yaml:1: ward: missing (the commune/ward: {code, name})" in found
    assert any(p.startswith("ward.yaml:21: colour: unknown key 'colour'") for p in found), found


def test_every_problem_is_reported_at_once_in_file_order():
    text = (edited("{code: hong-ha, name: Phường Hồng Hà}", "{code: hong-ha, name: ''}")
            .replace("function: economic", "function: economy")
            .replace("group: tdp-1}", "group: tdp-7}")
            .replace("        unit: hg-1", "        unit: tdp-9"))
    assert problems(text) == [
        "ward.yaml:1: ward.name: empty",
        ("ward.yaml:8: departments[1].function: unknown function 'economy' "
         "(one of: police, office, economic, culture, public_service, fatherland_front)"),
        "ward.yaml:10: teams[0].group: no residential group with code 'tdp-7'",
        "ward.yaml:18: people[0].roles[1].unit: no unit with code 'tdp-9'",
    ]


# --- CSV problems ----------------------------------------------------------------------------------

def test_csv_problems_name_the_csv_line_and_column():
    write("groups.csv", "code,name\ntdp-2,Tổ dân phố số 2 (bis)\ntdp-3,\n")
    write("people.csv", "ref,name,phone,role,unit\n"
                        "cuong,Lê Văn Cường,,leader,tdp-3\n"
                        "cuong,Lê Văn Cuờng,,mediator,hg-1\n"
                        "dung,Phạm Dũng,12ab,officer,hong-ha-ca\n"
                        "\n"
                        "em,Em,,leader,tdp-9\n")
    found = problems(BASE + "groups_csv: groups.csv\npeople_csv: people.csv\n")
    assert found == [
        "groups.csv:2: code: 'tdp-2' is already used at ward.yaml:5",
        "groups.csv:3: name: empty",
        "people.csv:3: name: 'Lê Văn Cuờng' differs from 'Lê Văn Cường' at people.csv:2",
        "people.csv:4: phone: '12ab' is not a phone number: use digits, a leading '+' and spaces only",
        "people.csv:6: unit: no unit with code 'tdp-9'",
    ]


def test_csv_header_and_missing_file_are_explained():
    write("people.csv", "ref,fullname,role,unit\nan,An,leader,tdp-1\n")
    found = problems(BASE + "people_csv: people.csv\ngroups_csv: nhom.csv\n")
    assert found == [
        "ward.yaml:23: groups_csv: cannot read 'nhom.csv': No such file or directory",
        "people.csv:1: header: missing name; unknown 'fullname'; expected the columns ref,name,phone,role,unit",
    ]


def test_a_csv_that_is_not_utf8_is_explained():
    write("groups.csv", b"code,name\ntdp-3,T\xf4 3\n")  # Latin-1, as an old spreadsheet might save it
    assert problems(BASE + "groups_csv: groups.csv\n") == [
        "groups.csv:2: not UTF-8 text (byte 0xf4); save the file as UTF-8"]


# --- files that are not a ward file at all -------------------------------------------------------

def test_not_yaml_names_the_line():
    found = problems("ward: {code: hong-ha, name: Phường Hồng Hà}\ngroups:\n  - {code: tdp-1, name: [x}\n")
    assert len(found) == 1 and found[0].startswith("ward.yaml:3: not valid YAML: "), found


def test_not_utf8_names_the_line():
    text = BASE.encode("utf-8").replace("Tổ dân phố số 2".encode(), b"T\xf4 2")
    assert problems(text) == ["ward.yaml:5: not UTF-8 text (byte 0xf4); save the file as UTF-8"]


def test_empty_file_list_and_missing_file():
    assert problems("") == ["ward.yaml: the file is empty; see docs/ward.example.yaml"]
    assert problems("- a\n- b\n")[0].startswith("ward.yaml:1: expected a mapping with the keys")
    with pytest.raises(WardFileError, match=r"^nothere.yaml: cannot read: No such file"):
        read_ward_file(Path("nothere.yaml"))
