"""The court's side of 诉调对接: the cases a court referred, with their progress, deadline, outcome,
the agreements reached and the reason of a case returned to the court; and the 司法确认
applications waiting for the court's ruling.

Queries start from accounts.access (``referred_disputes`` / ``visible_disputes``): the one rule of
who sees what. The web page (court_views.py) and the API (workflow_api.py) call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, select

from mediation.accounts.access import is_admin, predicate, referred_disputes, visible_disputes
from mediation.accounts.models import User
from mediation.common.enums import Role, Status
from mediation.common.paging import Page, paginate
from mediation.common.time import local_today
from mediation.disputes.casework import CourtReferral, JudicialConfirmation
from mediation.disputes.models import Dispute, Event, Party
from mediation.disputes.workflow import Stage, stage_of
from mediation.documents.models import Agreement, AgreementStatus
from mediation.extensions import db
from mediation.routing.deadlines import OVERDUE, WARNING, days_left, warning_level

RETURN_EVENT = "returned_to_court"  # the event of TRANSITIONS["return_to_court"]

# The page's filter: label of each state.
STATES = {"open": "办理中", "returned": "已退回法院", "closed": "已办结"}


@dataclass
class ReferralRow:
    """One referred case as the court sees it."""

    dispute: Dispute
    referral: CourtReferral
    stage: Stage
    warning_level: str | None
    days_left: int | None
    parties: list[str]
    returned: Event | None = None  # the 退回法院 step: its note is the reason the court reads
    agreements: list = field(default_factory=list)  # effective agreements (documents.models.Agreement)
    confirmations: list[JudicialConfirmation] = field(default_factory=list)

    @property
    def return_reason(self) -> str | None:
        return self.returned.note if self.returned is not None else None

    @property
    def returned_on(self) -> date | None:
        if self.returned is None:
            return None
        return self.returned.on or self.dispute.closed_on


@predicate
def may_use_court_page(user: User) -> bool:
    """诉调对接 (the court's referrals): the court's liaison and admins."""
    return user.role == Role.COURT or is_admin(user)


def _returned_ids():
    return select(Event.dispute_id).where(Event.type == RETURN_EVENT)


def referrals_query(user: User, state: str | None = None):
    stmt = referred_disputes(user)
    if state == "open":
        stmt = stmt.where(Dispute.status != Status.CLOSED)
    elif state == "closed":
        stmt = stmt.where(Dispute.status == Status.CLOSED)
    elif state == "returned":
        stmt = stmt.where(Dispute.id.in_(_returned_ids()))
    return stmt


def list_referrals(
    user: User, *, state: str | None = None, page: int = 1, per_page: int = 30, today: date | None = None
) -> Page:
    """The court's referred cases, open ones first, newest referral first: a page of ReferralRow."""
    today = today or local_today()
    stmt = referrals_query(user, state)
    listed = paginate(
        stmt.add_columns(CourtReferral).order_by(
            case((Dispute.status == Status.CLOSED, 1), else_=0),
            CourtReferral.referred_on.desc(),
            Dispute.id.desc(),
        ),
        page,
        per_page,
        rows=True,
        counted=stmt.with_only_columns(Dispute.id),
    )
    return listed.map(lambda rows: _rows([(d, r) for d, r in rows], today))


def effective_agreements(dispute_ids: list[int]) -> dict[int, list]:
    """The agreements in force (已生效) of the given cases, by case. The caller got the ids through
    accounts.access; whether the user may open the documents is documents.service.may_read_documents."""

    out: dict[int, list] = {}
    if not dispute_ids:
        return out
    for a in db.session.scalars(
        select(Agreement)
        .where(Agreement.dispute_id.in_(dispute_ids), Agreement.status == AgreementStatus.EFFECTIVE)
        .order_by(Agreement.dispute_id, Agreement.seq)
    ):
        out.setdefault(a.dispute_id, []).append(a)
    return out


def _rows(pairs: list[tuple[Dispute, CourtReferral]], today: date) -> list[ReferralRow]:
    ids = [d.id for d, _ in pairs]
    if not ids:
        return []
    parties: dict[int, list[str]] = {}
    for p in db.session.scalars(
        select(Party).where(Party.dispute_id.in_(ids)).order_by(Party.dispute_id, Party.position)
    ):
        parties.setdefault(p.dispute_id, []).append(p.name)
    returned: dict[int, Event] = {}
    for e in db.session.scalars(
        select(Event).where(Event.dispute_id.in_(ids), Event.type == RETURN_EVENT).order_by(Event.id)
    ):
        returned[e.dispute_id] = e  # the latest
    agreements = effective_agreements(ids)
    confirmations: dict[int, list[JudicialConfirmation]] = {}
    for c in db.session.scalars(
        select(JudicialConfirmation)
        .where(JudicialConfirmation.dispute_id.in_(ids))
        .order_by(JudicialConfirmation.id)
    ):
        confirmations.setdefault(c.dispute_id, []).append(c)
    return [
        ReferralRow(
            dispute=d,
            referral=r,
            stage=stage_of(d),
            warning_level=warning_level(d, today),
            days_left=days_left(d, today) if d.status != Status.CLOSED else None,
            parties=parties.get(d.id, []),
            returned=returned.get(d.id),
            agreements=agreements.get(d.id, []),
            confirmations=confirmations.get(d.id, []),
        )
        for d, r in pairs
    ]


def deadline_counts(user: User, today: date | None = None) -> dict[str, int]:
    """How many of the court's open referred cases are 预警 / 超期 (routing.deadlines' one rule)."""
    today = today or local_today()
    open_cases = db.session.scalars(referrals_query(user, "open").where(Dispute.deadline.is_not(None))).all()
    levels = [warning_level(d, today) for d in open_cases]
    return {
        WARNING: levels.count(WARNING),
        OVERDUE: levels.count(OVERDUE),
        "open": db.session.scalar(
            select(func.count()).select_from(
                referrals_query(user, "open").with_only_columns(Dispute.id).subquery()
            )
        ),
    }


def pending_confirmations(user: User) -> list[JudicialConfirmation]:
    """司法确认 applications to the user's court (every court for the admin) still waiting for the
    ruling, on cases the user may see; oldest application first."""
    stmt = (
        select(JudicialConfirmation)
        .join(Dispute, JudicialConfirmation.dispute_id == Dispute.id)
        .where(
            JudicialConfirmation.result.is_(None),
            JudicialConfirmation.dispute_id.in_(visible_disputes(user).with_only_columns(Dispute.id)),
        )
        .order_by(JudicialConfirmation.applied_on, JudicialConfirmation.id)
    )
    if not is_admin(user):
        stmt = stmt.where(JudicialConfirmation.court_id == user.unit_id)
    return list(db.session.scalars(stmt))
