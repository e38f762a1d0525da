"""An online application (网上申请调解) and its photos.

The case itself is an ordinary ``Dispute`` (source 网上申请, registered by the system at the 综治中心
responsible for the place); this row keeps what only the online path has: the form's token (a retried
submit finds the case it made), the verified phone and the client's address (the daily limits count
these rows). Photos are stored in the database, re-encoded (mediation/applications/photos.py), like
the ledger's uploaded files: every web machine sees them, nothing lands on a public path."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from mediation.common.time import utcnow
from mediation.disputes.models import Dispute
from mediation.extensions import db


class OnlineApplication(db.Model):
    __tablename__ = "online_application"
    __table_args__ = (
        Index("ix_online_application_phone_day", "phone", "created_on"),
        Index("ix_online_application_address_day", "address", "created_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # the form's idempotency token
    phone: Mapped[str] = mapped_column(String(32))  # the applicant's phone, verified by an SMS code
    address: Mapped[str] = mapped_column(String(64), default="")  # the client's address
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_on: Mapped[date]  # the Shanghai day (the daily limits)

    dispute: Mapped[Dispute] = relationship()
    photos: Mapped[list[ApplicationPhoto]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationPhoto.position"
    )


class ApplicationPhoto(db.Model):
    """One photo, re-encoded as JPEG without metadata; served only through the case's access check."""

    __tablename__ = "application_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("online_application.id", ondelete="CASCADE"), index=True
    )
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    mimetype: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    application: Mapped[OnlineApplication] = relationship(back_populates="photos")
