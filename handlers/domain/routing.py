"""Which department leads a case of each field by default (DOMAIN.md, "Routing").

Defaults name a department's function, not a unit, so they hold in every ward; a ward file
may override them per field with a department code (kept in the commune's settings).
"""

from __future__ import annotations

from handlers.domain.roles import POLICE

_DEFAULT_LEAD = {
    "land": "economic",
    "construction": "economic",
    "environment": "economic",
    "family": "culture",
    "labour": "culture",
}


def lead_function(field: str) -> str:
    """The function of the department that leads a case of `field` unless the ward says otherwise."""
    return _DEFAULT_LEAD.get(field, POLICE)
