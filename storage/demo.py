"""The demo ward: one ward, its six residential groups with their mediation teams, its police
and its other departments; safe to load twice."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.tables import UnitRow

WARD_CODE = "demo-ward"
WARD_NAME = "Phường Hồng Hà"
GROUP_COUNT = 6
POLICE_CODE = "demo-ward-police"
POLICE_NAME = "Công an phường"
# The ward's other departments: (function, name); codes are f"{WARD_CODE}-{function with '-'}".
DEPARTMENTS = (
    ("office", "Văn phòng HĐND-UBND"),
    ("economic", "Phòng Kinh tế, Hạ tầng và Đô thị"),
    ("culture", "Phòng Văn hóa - Xã hội"),
    ("public_service", "Trung tâm Dịch vụ sự nghiệp công"),
    ("fatherland_front", "Ủy ban MTTQ Việt Nam phường"),
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def demo_units() -> list[dict[str, Any]]:
    """The demo units, children after their parent (`parent` names the parent's code)."""
    units: list[dict[str, Any]] = [
        {"code": WARD_CODE, "name": _nfc(WARD_NAME), "kind": "commune", "parent": None, "sort_order": 0},
    ]
    for number in range(1, GROUP_COUNT + 1):
        units.append({"code": f"{WARD_CODE}-tdp-{number}", "name": _nfc(f"Tổ dân phố số {number}"),
                      "kind": "group", "parent": WARD_CODE, "sort_order": number})
    units.append({"code": POLICE_CODE, "name": _nfc(POLICE_NAME), "kind": "department",
                  "parent": WARD_CODE, "sort_order": 100, "function": "police"})
    for order, (function, name) in enumerate(DEPARTMENTS, start=101):
        units.append({"code": department_code(function), "name": _nfc(name), "kind": "department",
                      "parent": WARD_CODE, "sort_order": order, "function": function})
    for number in range(1, GROUP_COUNT + 1):  # one mediation team per group (Tổ hòa giải)
        units.append({"code": f"{WARD_CODE}-tdp-{number}-hg", "name": _nfc(f"Tổ hòa giải TDP số {number}"),
                      "kind": "team", "parent": f"{WARD_CODE}-tdp-{number}", "sort_order": number})
    return units


def department_code(function: str) -> str:
    """The demo code of the department with `function`, e.g. "demo-ward-economic"."""
    return POLICE_CODE if function == "police" else f"{WARD_CODE}-{function.replace('_', '-')}"


async def load_demo_ward(factory: Callable[[], Any]) -> None:
    """Insert the demo units that are missing; existing ones are left alone.

    `factory` is a unit-of-work factory (make_uow_factory) or an async_sessionmaker.
    """
    if isinstance(factory, async_sessionmaker):
        async with factory() as session:
            await _load(session)
            await session.commit()
        return
    async with factory() as uow:
        await _load(uow.session)
        await uow.commit()


async def _load(session: AsyncSession) -> None:
    ids: dict[str, int] = {code: id_ for code, id_ in await session.execute(select(UnitRow.code, UnitRow.id))}
    for unit in demo_units():
        if unit["code"] in ids:
            continue
        row = UnitRow(code=unit["code"], name=unit["name"], kind=unit["kind"], sort_order=unit["sort_order"],
                      parent_id=ids[unit["parent"]] if unit["parent"] else None, function=unit.get("function"))
        session.add(row)
        await session.flush()
        ids[row.code] = row.id
