"""People of the demo: one account per role (DEMO_USERS) and a staff account for every other unit."""

from __future__ import annotations

import random

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.common.enums import (
    Role,
    UnitType,
)
from mediation.demo.base import DEMO_PASSWORD, DISTRICT_CODE
from mediation.demo.material import person_name
from mediation.extensions import db
from mediation.geo.models import Unit

# username, role, unit code, display name
DEMO_USERS = (
    ("admin", Role.ADMIN, f"{DISTRICT_CODE}-ZZ", "系统管理员"),
    ("quzhongxin", Role.CENTER, f"{DISTRICT_CODE}-ZZ", "王海燕"),
    ("zhenzhongxin", Role.CENTER, "120116100000-ZZ", "刘建国"),
    ("tiaojieyuan", Role.MEDIATOR, "120116100000-TW", "陈秀兰"),
    ("wanggeyuan", Role.GRID, "120116100201G01-WG", "赵磊"),
    ("fayuan", Role.COURT, f"{DISTRICT_CODE}-FY", "孙立平"),
)
# The unit whose staff a demo user is, for the timeline's "who".
ACTING_USER = {
    f"{DISTRICT_CODE}-ZZ": "quzhongxin",
    "120116100000-ZZ": "zhenzhongxin",
    "120116100000-TW": "tiaojieyuan",
    "120116100201G01-WG": "wanggeyuan",
    f"{DISTRICT_CODE}-FY": "fayuan",
}


class _PasswordHash:
    """One (salted) hash of the shared demo password for every new account: hashing is slow on purpose."""

    def __init__(self):
        self.value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            probe = User()
            probe.set_password(DEMO_PASSWORD)
            self.value = probe.password_hash
        return self.value


def ensure_users(password_hash: _PasswordHash | None = None) -> list[tuple[User, bool]]:
    """The demo accounts; an existing account is left as it is."""
    password_hash = password_hash or _PasswordHash()
    result = []
    for username, role, unit_code, display_name in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        created = user is None
        if created:
            unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
            user = User(
                username=username,
                role=role,
                unit=unit,
                display_name=display_name,
                password_hash=password_hash(),
            )
            db.session.add(user)
        result.append((user, created))
    db.session.flush()
    return result


def staff_role(unit: Unit) -> Role:
    """The role of a unit's staff: 综治中心 staff, court liaisons, grid workers, mediators elsewhere."""
    if unit.type == UnitType.CENTER:
        return Role.CENTER
    if unit.type == UnitType.COURT:
        return Role.COURT
    if unit.type == UnitType.OTHER and unit.channel is None:
        return Role.GRID  # the 网格 units
    return Role.MEDIATOR  # 调委会, departments (行政调解), the 调处中心


def staff_name(unit_code: str) -> str:
    return person_name(random.Random(unit_code))[0]


def ensure_staff(password_hash: _PasswordHash) -> tuple[int, int]:
    """One staff account per demo unit that has no demo user, named after the unit's code (so that
    every unit can act: accept, record sessions, complete follow-ups, reply to 督办, file sweep
    reports). An existing account is left as it is. Returns (accounts, created)."""
    taken = {code for _, _, code, _ in DEMO_USERS}
    units = db.session.scalars(
        select(Unit).where(Unit.code.startswith(DISTRICT_CODE[:6])).order_by(Unit.code)
    ).all()
    existing = set(
        db.session.scalars(select(User.username).where(User.username.in_([u.code for u in units])))
    )
    created = 0
    for unit in units:
        if unit.code in taken or unit.code in existing:
            continue
        db.session.add(
            User(
                username=unit.code,
                role=staff_role(unit),
                unit=unit,
                display_name=staff_name(unit.code),
                password_hash=password_hash(),
            )
        )
        created += 1
    db.session.flush()
    return len([u for u in units if u.code not in taken]), created
