"""Who is who in a ward: roles, the units they hold them in, and the actor of a request."""

from __future__ import annotations

from dataclasses import dataclass

# Everyone is a resident; the other roles are memberships of a unit.
RESIDENT = "resident"
LEADER = "leader"  # of a residential group
MEDIATOR = "mediator"  # of a mediation team
OFFICER = "officer"  # of the ward police
HEAD = "head"  # of the ward police
MEMBER = "member"  # of a department
ADMIN = "admin"  # of the commune/ward
ROLES: tuple[str, ...] = (RESIDENT, LEADER, MEDIATOR, OFFICER, HEAD, MEMBER, ADMIN)
MEMBERSHIP_ROLES: tuple[str, ...] = ROLES[1:]
POLICE_ROLES = frozenset({OFFICER, HEAD})

# What a department does; routing by field names these, so a ward's codes can be anything.
POLICE = "police"
DEPARTMENT_FUNCTIONS: tuple[str, ...] = (
    POLICE,
    "office",  # Văn phòng HĐND-UBND
    "economic",  # Phòng Kinh tế, Hạ tầng và Đô thị
    "culture",  # Phòng Văn hóa - Xã hội
    "public_service",  # Trung tâm Dịch vụ sự nghiệp công
    "fatherland_front",  # Mặt trận Tổ quốc
)

# The kind of unit each role is held in (and, for police roles, the department's function).
ROLE_UNIT_KINDS: dict[str, str] = {
    LEADER: "group", MEDIATOR: "team", OFFICER: "department", HEAD: "department",
    MEMBER: "department", ADMIN: "commune",
}


@dataclass(frozen=True)
class Membership:
    role: str
    unit_id: int


@dataclass(frozen=True)
class Actor:
    """The person behind a request, with every role they hold."""

    person_id: int
    memberships: tuple[Membership, ...] = ()

    def has(self, role: str) -> bool:
        return role == RESIDENT or any(m.role == role for m in self.memberships)

    def units(self, role: str) -> frozenset[int]:
        return frozenset(m.unit_id for m in self.memberships if m.role == role)

    @property
    def is_police(self) -> bool:
        return any(m.role in POLICE_ROLES for m in self.memberships)

    @property
    def is_staff(self) -> bool:
        return bool(self.memberships)

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role held, in the order of ROLES (resident first)."""
        held = {m.role for m in self.memberships}
        return tuple(role for role in ROLES if role == RESIDENT or role in held)
