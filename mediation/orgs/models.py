"""The profile of a mediation organisation (调解组织): one row per unit that is one, keyed by the
unit, so that units which are not mediation organisations (综治中心, 行政机关 …) carry nothing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.common.enums import Industry, OrgKind, enum_type
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.geo.models import Unit


class MediationOrg(db.Model):
    """调解组织档案: its kind (and 行业 for a 行业性专业性调委会), 成立日期, 负责人, 场所, 联系电话 and the
    members without an account (free text; the members with one are the unit's users)."""

    __tablename__ = "mediation_org"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind, 20), index=True)
    industry: Mapped[Industry | None] = mapped_column(enum_type(Industry, 8))
    founded_on: Mapped[date | None]
    head: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    other_members: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<MediationOrg {self.unit_id} {self.kind}>"
