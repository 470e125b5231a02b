"""The ward file: a ward's structure and staff, read and checked before anything is imported.

One YAML file (plus optional CSV lists, for wards with long lists of groups or people)
describes a commune/ward; docs/ward.example.yaml documents the format. `read_ward_file`
returns a `WardFile`, or raises `WardFileError` with every problem it found, each naming the
file, line and field (`ward.yaml:14: people[2].roles[0].unit: no unit with code 'tdp-9'`), so
an administrator fixes them all in one pass. No database here: storage/ward_import.py writes
what this returns.

Scalars are read as text, never as YAML numbers or booleans (`phone: 0912345678` keeps its
leading zero, a code `no` stays "no"), and all text is NFC-normalised with runs of spaces
collapsed, so decomposed Vietnamese from some editors matches what is stored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain.roles import (
    DEPARTMENT_FUNCTIONS,
    MEMBERSHIP_ROLES,
    POLICE,
    POLICE_ROLES,
    ROLE_UNIT_KINDS,
)
from handlers.text import nfc

MAX_CODE = 64  # units.code, people.ref
MAX_NAME = 200  # units.name, people.full_name
MAX_PHONE = 32  # people.phone
CODE_RE = re.compile(r"[^\W_][\w.-]*")  # letters (Vietnamese too), digits, '-', '_', '.'; no spaces
PHONE_RE = re.compile(r"\+?[0-9][0-9 ]*")
NULL_TAG = "tag:yaml.org,2002:null"

KIND_NOUNS = {"commune": "ward", "group": "residential group", "department": "department", "team": "mediation team"}
GROUP_COLUMNS = ("code", "name")
PEOPLE_COLUMNS = ("ref", "name", "phone", "role", "unit")
PEOPLE_OPTIONAL_COLUMNS = ("phone",)

Check = Callable[[str | None], str | None]  # a value -> what is wrong with it, or None


# --- what the file says ---------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, printed as `file:line: field: message`."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return ": ".join(part for part in (where, self.field, self.message) if part)


class WardFileError(Exception):
    """The file cannot be imported; `problems` lists everything found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Origin:
    """Where an entry was written, so later checks and the import can point at it."""

    file: str
    line: int
    path: str = ""  # `people[2]` in YAML; empty for a CSV row (its columns name the fields)
    lines: dict[str, int] = field(default_factory=dict)  # a field's own line, in block-style YAML

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def problem(self, key: str, message: str) -> Problem:
        return Problem(self.file, self.lines.get(key, self.line), _join(self.path, key), message)


NOWHERE = Origin("", 0)


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str  # storage.tables.UNIT_KINDS
    parent: str | None = None  # the parent's code: the ward for groups and departments, a group for teams
    function: str | None = None  # a department's (roles.DEPARTMENT_FUNCTIONS)
    sort_order: int = 0  # position in its list in the file
    origin: Origin = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class RoleSpec:
    role: str
    unit: str  # a unit code of this file
    origin: Origin = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class PersonSpec:
    ref: str
    name: str
    phone: str | None
    roles: tuple[RoleSpec, ...] = ()
    origin: Origin = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class WardFile:
    ward: UnitSpec
    groups: tuple[UnitSpec, ...] = ()
    departments: tuple[UnitSpec, ...] = ()
    teams: tuple[UnitSpec, ...] = ()
    people: tuple[PersonSpec, ...] = ()
    routing: dict[str, str] = field(default_factory=dict)  # field -> department code: overrides only
    routing_origin: Origin = field(default=NOWHERE, compare=False, repr=False)

    def units(self) -> tuple[UnitSpec, ...]:
        """Every unit, parents before children."""
        return (self.ward, *self.groups, *self.departments, *self.teams)


def read_ward_file(path: Path) -> WardFile:
    """The ward described by the YAML file at `path` (and the CSV files it names), fully checked."""
    problems: list[Problem] = []
    root = _load_yaml(path, problems)
    ward = _read_ward(root, path, problems) if root is not None else None
    if ward is not None:
        _check_references(ward, problems)
    if problems or ward is None:
        problems.sort(key=lambda p: (p.file != str(path), p.file, p.line or 0))  # the YAML first, in file order
        raise WardFileError(problems)
    return ward


# --- field checks ---------------------------------------------------------------------------

def _clean(text: str) -> str:
    """NFC, trimmed, inner runs of whitespace as one space."""
    return " ".join(nfc(text).split())


def check_code(value: str | None) -> str | None:
    if value is None:
        return "missing"
    if not value:
        return "empty"
    if len(value) > MAX_CODE:
        return f"longer than {MAX_CODE} characters"
    if not CODE_RE.fullmatch(value):
        return f"{value!r} is not a code: use letters, digits, '-', '_' and '.', without spaces"
    return None


def check_name(value: str | None) -> str | None:
    if value is None:
        return "missing"
    if not value:
        return "empty"
    if len(value) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    return None


def check_phone(value: str | None) -> str | None:
    """A phone is optional; when given, only digits, a leading '+' and spaces."""
    if not value:
        return None
    if len(value) > MAX_PHONE:
        return f"longer than {MAX_PHONE} characters"
    if not PHONE_RE.fullmatch(value):
        return f"{value!r} is not a phone number: use digits, a leading '+' and spaces only"
    return None


def one_of(choices: tuple[str, ...], what: str) -> Check:
    def check(value: str | None) -> str | None:
        if value is None:
            return "missing"
        if value not in choices:
            return f"unknown {what} {value!r} (one of: {', '.join(choices)})"
        return None
    return check


# --- raw entries: a YAML mapping or a CSV row, before its fields are checked ----------------

@dataclass
class _Raw:
    values: dict[str, str | None]
    origin: Origin
    reported: set[str] = field(default_factory=set)  # keys already found wrong (no second message)

    def take(self, key: str, check: Check, problems: list[Problem]) -> str | None:
        """The value under `key` if `check` accepts it; otherwise None, with the problem recorded."""
        if key in self.reported:
            return None
        value = self.values.get(key)
        message = check(value)
        if message is not None:
            problems.append(self.origin.problem(key, message))
            return None
        return value


def _unit(raw: _Raw, kind: str, sort_order: int, problems: list[Problem], *, parent: str | None = None) -> UnitSpec | None:
    """A unit from its raw entry; kept when only its name is wrong, so references to it still resolve."""
    code = raw.take("code", check_code, problems)
    name = raw.take("name", check_name, problems)
    function = raw.take("function", one_of(DEPARTMENT_FUNCTIONS, "function"), problems) if kind == "department" else None
    if kind == "team":
        parent = raw.take("group", check_code, problems)
    if code is None:
        return None
    return UnitSpec(code=code, name=name or "", kind=kind, parent=parent, function=function,
                    sort_order=sort_order, origin=raw.origin)


def _role(raw: _Raw, problems: list[Problem]) -> RoleSpec | None:
    role = raw.take("role", one_of(MEMBERSHIP_ROLES, "role"), problems)
    unit = raw.take("unit", check_code, problems)
    if role is None or unit is None:
        return None
    return RoleSpec(role=role, unit=unit, origin=raw.origin)


# --- reading files ----------------------------------------------------------------------------

def _read_text(path: Path, named_at: Problem, problems: list[Problem]) -> str | None:
    """The file's text (UTF-8, with or without a BOM), or None with the reason recorded.

    A file that cannot be read is reported where it is named (the YAML line naming a CSV).
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        what = "cannot read" if named_at.file == str(path) else f"cannot read {str(path)!r}"
        problems.append(replace(named_at, message=f"{what}: {error.strerror or error}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        at = data.count(b"\n", 0, error.start) + 1
        problems.append(Problem(str(path), at, "", f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8"))
        return None


def _load_yaml(path: Path, problems: list[Problem]) -> Node | None:
    """The composed YAML node tree (nodes keep their line numbers), or None with the reason recorded."""
    text = _read_text(path, Problem(str(path), None, "", ""), problems)
    if text is None:
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(str(path), text, error))
        return None
    if root is None:
        problems.append(Problem(str(path), None, "", "the file is empty; see docs/ward.example.yaml"))
    return root


def _yaml_problem(shown: str, text: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        line = mark.line + 1
    elif isinstance(getattr(error, "position", None), int):  # yaml.reader.ReaderError
        line = text.count("\n", 0, error.position) + 1  # type: ignore[attr-defined]
    else:
        line = None
    detail = getattr(error, "problem", None) or getattr(error, "reason", None) or str(error)
    context = getattr(error, "context", None)
    return Problem(shown, line, "", f"not valid YAML: {detail}" + (f" ({context})" if context else ""))


def _csv_rows(source: _CsvSource, columns: tuple[str, ...], optional: tuple[str, ...],
              problems: list[Problem]) -> list[_Raw]:
    """The CSV's rows as raw entries: a header row first, ',' or ';' between values (Excel in a
    Vietnamese locale writes ';'), blank rows skipped."""
    text = _read_text(source.path, source.named_at, problems)
    if text is None:
        return []
    shown = str(source.path)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [_clean(name).lower() for name in next(reader, [])]
    except csv.Error as error:
        problems.append(Problem(shown, 1, "", f"not valid CSV: {error}"))
        return []
    if not _header_ok(header, columns, optional, shown, problems):
        return []
    rows: list[_Raw] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(Problem(shown, line, "", f"not valid CSV: {error}"))
            break
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(Problem(shown, line, "", f"{len(cells)} values but the header has {len(header)} columns"))
            continue
        values = {name: _clean(cell) for name, cell in zip(header, cells)}
        rows.append(_Raw({name: values.get(name, "") for name in columns}, Origin(shown, line)))
    return rows


def _header_ok(header: list[str], columns: tuple[str, ...], optional: tuple[str, ...], shown: str,
               problems: list[Problem]) -> bool:
    expected = f"expected the columns {','.join(columns)}"
    missing = [name for name in columns if name not in header and name not in optional]
    unknown = [name for name in header if name not in columns]
    if not header:
        problems.append(Problem(shown, 1, "", f"empty file; {expected}"))
    elif missing or unknown or len(set(header)) != len(header):
        details = [f"missing {', '.join(missing)}"] if missing else []
        details += [f"unknown {', '.join(repr(name) for name in unknown)}"] if unknown else []
        details += ["a column is repeated"] if len(set(header)) != len(header) else []
        problems.append(Problem(shown, 1, "", f"header: {'; '.join(details)}; {expected}"))
    else:
        return True
    return False


# --- YAML structure -----------------------------------------------------------------------------

class _Yaml:
    """Walks the node tree of one YAML file, recording problems instead of stopping at the first."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def report(self, node: Node, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, path, message))

    def entry(self, node: Node, path: str, keys: tuple[str, ...], nested: tuple[str, ...] = (),
              *, key_name: str = "key") -> tuple[_Raw, dict[str, Node]] | None:
        """A mapping's text fields as a raw entry, and the nodes under its `nested` keys."""
        if not isinstance(node, MappingNode):
            self.report(node, path, f"expected a mapping with the keys {', '.join(keys + nested)}")
            return None
        raw = _Raw({}, Origin(self.file, node.start_mark.line + 1, path, {}))
        nodes: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = _clean(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            key_path = _join(path, key)
            if key not in keys + nested:
                self.report(key_node, key_path, f"unknown {key_name} {key!r} (one of: {', '.join(keys + nested)})")
            elif key in raw.origin.lines:
                self.report(key_node, key_path, f"repeated {key_name} (first on line {raw.origin.lines[key]})")
            else:
                raw.origin.lines[key] = key_node.start_mark.line + 1
                self._value(raw, nodes, key, value_node, nested, key_path)
        return raw, nodes

    def _value(self, raw: _Raw, nodes: dict[str, Node], key: str, node: Node, nested: tuple[str, ...], path: str) -> None:
        if key in nested:
            nodes[key] = node
        elif isinstance(node, ScalarNode):
            raw.values[key] = None if node.tag == NULL_TAG else _clean(node.value)
        else:
            self.report(node, path, "expected text, not a list or mapping")
            raw.reported.add(key)

    def items(self, node: Node | None, path: str) -> list[tuple[str, Node]]:
        """A list's items with their paths (`groups[0]`); an absent or empty list is no items."""
        if not _given(node):
            return []
        if not isinstance(node, SequenceNode):
            self.report(node, path, "expected a list (items starting with '- ')")
            return []
        return [(f"{path}[{index}]", item) for index, item in enumerate(node.value)]


TOP_TEXT = ("groups_csv", "people_csv")
TOP_NESTED = ("ward", "routing", "groups", "departments", "teams", "people")


def _read_ward(root: Node, path: Path, problems: list[Problem]) -> WardFile | None:
    """Every entry of the file, each field checked on its own (references are checked after)."""
    y = _Yaml(str(path), problems)
    top = y.entry(root, "", TOP_TEXT, TOP_NESTED)
    if top is None:
        return None
    raw, nodes = top
    ward = _read_commune(y, nodes.get("ward"))
    groups = _yaml_units(y, nodes.get("groups"), "groups", "group", ward.code)
    groups += _csv_groups(raw, path, problems, ward.code, first=len(groups) + 1)
    routing, routing_origin = _read_routing(y, nodes.get("routing"))
    return WardFile(
        ward=ward,
        groups=tuple(groups),
        departments=tuple(_yaml_units(y, nodes.get("departments"), "departments", "department", ward.code)),
        teams=tuple(_yaml_units(y, nodes.get("teams"), "teams", "team", None)),
        people=tuple(_yaml_people(y, nodes.get("people")) + _csv_people(raw, path, problems)),
        routing=routing,
        routing_origin=routing_origin,
    )


def _read_commune(y: _Yaml, node: Node | None) -> UnitSpec:
    """The commune/ward; when it is missing or wrong, a stand-in so the rest is still checked."""
    if node is None:
        y.problems.append(Problem(y.file, 1, "ward", "missing (the commune/ward: {code, name})"))
    entry = y.entry(node, "ward", ("code", "name")) if node is not None else None
    ward = _unit(entry[0], "commune", 0, y.problems) if entry else None
    return ward or UnitSpec(code="", name="", kind="commune")


UNIT_KEYS = {"group": ("code", "name"), "department": ("code", "name", "function"), "team": ("code", "name", "group")}


def _yaml_units(y: _Yaml, node: Node | None, path: str, kind: str, parent: str | None) -> list[UnitSpec]:
    units: list[UnitSpec] = []
    for position, (item_path, item) in enumerate(y.items(node, path), start=1):
        entry = y.entry(item, item_path, UNIT_KEYS[kind])
        unit = _unit(entry[0], kind, position, y.problems, parent=parent) if entry else None
        if unit is not None:
            units.append(unit)
    return units


def _read_routing(y: _Yaml, node: Node | None) -> tuple[dict[str, str], Origin]:
    """Field -> department code; whether the department exists is checked with the references."""
    entry = y.entry(node, "routing", DISPUTE_FIELDS, key_name="field") if _given(node) else None
    if entry is None:
        return {}, NOWHERE
    raw, _ = entry
    routing = {key: code for key in raw.values if (code := raw.take(key, check_code, y.problems)) is not None}
    return routing, raw.origin


def _yaml_people(y: _Yaml, node: Node | None) -> list[PersonSpec]:
    people: list[PersonSpec] = []
    for item_path, item in y.items(node, "people"):
        entry = y.entry(item, item_path, ("ref", "name", "phone"), ("roles",))
        if entry is None:
            continue
        raw, nodes = entry
        roles = []
        for role_path, role_node in y.items(nodes.get("roles"), _join(item_path, "roles")):
            role_entry = y.entry(role_node, role_path, ("role", "unit"))
            role = _role(role_entry[0], y.problems) if role_entry else None
            if role is not None:
                roles.append(role)
        person = _person(raw, tuple(roles), y.problems)
        if person is not None:
            people.append(person)
    return people


def _person(raw: _Raw, roles: tuple[RoleSpec, ...], problems: list[Problem]) -> PersonSpec | None:
    ref = raw.take("ref", check_code, problems)
    name = raw.take("name", check_name, problems)
    phone = raw.take("phone", check_phone, problems)
    if ref is None:
        return None
    return PersonSpec(ref=ref, name=name or "", phone=phone or None, roles=roles, origin=raw.origin)


# --- CSV lists ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _CsvSource:
    path: Path  # relative to the YAML file's folder
    named_at: Problem  # where the YAML names it, for "cannot read"


def _csv_source(raw: _Raw, key: str, yaml_path: Path, problems: list[Problem]) -> _CsvSource | None:
    """The CSV file named under `key` of the YAML file, if any."""
    value = raw.take(key, lambda v: "empty" if v == "" else None, problems)
    if value is None:
        return None
    return _CsvSource(yaml_path.parent / value, raw.origin.problem(key, ""))


def _csv_groups(raw: _Raw, yaml_path: Path, problems: list[Problem], ward: str, *, first: int) -> list[UnitSpec]:
    source = _csv_source(raw, "groups_csv", yaml_path, problems)
    if source is None:
        return []
    rows = _csv_rows(source, GROUP_COLUMNS, (), problems)
    units = [_unit(row, "group", position, problems, parent=ward) for position, row in enumerate(rows, start=first)]
    return [unit for unit in units if unit is not None]


def _csv_people(raw: _Raw, yaml_path: Path, problems: list[Problem]) -> list[PersonSpec]:
    """People from CSV rows, one row per role: a person's rows are gathered by `ref`."""
    source = _csv_source(raw, "people_csv", yaml_path, problems)
    if source is None:
        return []
    by_ref: dict[str, list[_Raw]] = {}
    for row in _csv_rows(source, PEOPLE_COLUMNS, PEOPLE_OPTIONAL_COLUMNS, problems):
        ref = row.take("ref", check_code, problems)
        if ref is not None:
            by_ref.setdefault(ref, []).append(row)
    return [_csv_person(ref, rows, problems) for ref, rows in by_ref.items()]


def _csv_person(ref: str, rows: list[_Raw], problems: list[Problem]) -> PersonSpec:
    name = _agreed(rows, "name", check_name, problems)
    phone = _agreed(rows, "phone", check_phone, problems)
    roles = []
    for row in rows:
        if row.values.get("role") or row.values.get("unit"):  # a row with neither gives no role
            role = _role(row, problems)
            if role is not None:
                roles.append(role)
    return PersonSpec(ref=ref, name=name or "", phone=phone or None, roles=tuple(roles),
                      origin=rows[0].origin)


def _agreed(rows: list[_Raw], key: str, check: Check, problems: list[Problem]) -> str | None:
    """A person's value over their rows: later rows may leave it empty but may not contradict it."""
    given = [row for row in rows if row.values.get(key)]
    if not given:
        return rows[0].take(key, check, problems)
    first = given[0]
    for row in given[1:]:
        if row.values[key] != first.values[key]:
            problems.append(row.origin.problem(
                key, f"{row.values[key]!r} differs from {first.values[key]!r} at {first.origin.where}"))
    return first.take(key, check, problems)


# --- references between entries ------------------------------------------------------------------

def _check_references(ward: WardFile, problems: list[Problem]) -> None:
    """Whole-file rules: unique codes and refs, and every code named points at the right unit."""
    units = _unique(ward.units(), lambda unit: unit.code, "code", problems)
    _unique(ward.people, lambda person: person.ref, "ref", problems)
    _check_functions(ward.departments, problems)
    for team in ward.teams:
        if team.parent is not None:
            _check_kind(units.get(team.parent), team.parent, "group", team.origin.problem, "group", problems)
    for key, code in ward.routing.items():
        _check_kind(units.get(code), code, "department", ward.routing_origin.problem, key, problems)
    for person in ward.people:
        _check_roles(person.roles, units, problems)


Entry = TypeVar("Entry", UnitSpec, PersonSpec)


def _unique(items: tuple[Entry, ...], key: Callable[[Entry], str], name: str, problems: list[Problem]) -> dict[str, Entry]:
    """Items by `key`; a later item with a key already seen is a problem (the first one wins)."""
    seen: dict[str, Entry] = {}
    for item in items:
        first = seen.setdefault(key(item), item)
        if first is not item:
            problems.append(item.origin.problem(name, f"{key(item)!r} is already used at {first.origin.where}"))
    return seen


def _check_functions(departments: tuple[UnitSpec, ...], problems: list[Problem]) -> None:
    """One department per function: routing picks a department by its function."""
    first: dict[str, UnitSpec] = {}
    for department in departments:
        if department.function is None:
            continue
        other = first.setdefault(department.function, department)
        if other is not department:
            problems.append(department.origin.problem("function", (
                f"{department.function!r} is already the function of {other.code!r} at {other.origin.where}; "
                "a ward has one department per function")))


def _check_kind(unit: UnitSpec | None, code: str, kind: str, problem: Callable[[str, str], Problem], key: str,
                problems: list[Problem]) -> None:
    if unit is None:
        problems.append(problem(key, f"no {KIND_NOUNS[kind]} with code {code!r}"))
    elif unit.kind != kind:
        problems.append(problem(key, f"{code!r} is {_a(KIND_NOUNS[unit.kind])}, not {_a(KIND_NOUNS[kind])}"))


def _check_roles(roles: tuple[RoleSpec, ...], units: dict[str, UnitSpec], problems: list[Problem]) -> None:
    seen: dict[tuple[str, str], RoleSpec] = {}
    for role in roles:
        first = seen.setdefault((role.role, role.unit), role)
        if first is not role:
            problems.append(role.origin.problem("role", f"{role.role} in {role.unit!r} is already given at {first.origin.where}"))
            continue
        message = _role_problem(role, units.get(role.unit))
        if message is not None:
            problems.append(role.origin.problem("unit", message))


def _role_problem(role: RoleSpec, unit: UnitSpec | None) -> str | None:
    """Why `role` cannot be held in `unit`, or None (roles.ROLE_UNIT_KINDS; police roles in the police)."""
    if unit is None:
        return f"no unit with code {role.unit!r}"
    wanted = ROLE_UNIT_KINDS[role.role]
    if unit.kind != wanted:
        return f"{_a(role.role)} is held in {_a(KIND_NOUNS[wanted])}, and {role.unit!r} is {_a(KIND_NOUNS[unit.kind])}"
    if role.role in POLICE_ROLES and unit.function not in (POLICE, None):
        return f"{_a(role.role)} is held in the police department, and {role.unit!r} is the {unit.function} department"
    return None


def _given(node: Node | None) -> bool:
    """False for an absent key and for an empty value (`groups:` with nothing after it)."""
    return node is not None and not (isinstance(node, ScalarNode) and node.tag == NULL_TAG)


def _a(noun: str) -> str:
    if noun == KIND_NOUNS["commune"]:
        return f"the {noun}"  # a file has one
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path and key else path or key
