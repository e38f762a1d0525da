"""Hand-built cases for the report tests: disputes written straight into the tables with the dates
a test needs (registered, accepted, stabilised, closed), no workflow in between."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from mediation.common.enums import Channel, Outcome, PartyKind, PartyRole, RiskLevel, Status, Venue
from mediation.disputes.models import Dispute, Party
from mediation.extensions import db
from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus, PartyRating

_seq = itertools.count(1)


def case(
    world,
    node,
    registered_on: date,
    *,
    closed_on: date | None = None,
    outcome: str | None = None,
    status: str | None = None,
    accepted_on: date | None = None,
    deadline: date | None = None,
    stabilized_on: date | None = None,
    prominent: bool = False,
    civil_to_criminal: bool = False,
    venue: str | None = Venue.VILLAGE.value,
    category: str = "邻里",
    channel: str | None = None,
    unit=None,
    risk_level: str = RiskLevel.ORDINARY.value,
    reason: str | None = None,
) -> Dispute:
    if status is None:
        status = Status.CLOSED if closed_on else Status.HANDLING
    if closed_on and outcome is None:
        outcome = Outcome.SUCCESS.value
    d = Dispute(
        case_no=f"（{registered_on.year}）测试调字第{next(_seq):05d}号",
        category=category,
        source="群众来访",
        summary="测试用纠纷。",
        venue=Venue(venue) if venue else None,
        risk_level=RiskLevel(risk_level),
        flags=["群体性"] if prominent and risk_level == RiskLevel.ORDINARY.value else [],
        prominent=prominent,
        civil_to_criminal=civil_to_criminal,
        node=node,
        registering_unit=world.committee_a,
        registered_on=registered_on,
        status=Status(status),
        channel=Channel(channel) if channel else None,
        unit=unit,
        accepted_on=accepted_on,
        deadline=deadline,
        stabilized_on=stabilized_on,
        closed_on=closed_on,
        outcome=Outcome(outcome) if outcome else None,
        carry_over_reason=reason,
    )
    db.session.add(d)
    db.session.flush()
    return d


def party_rating(dispute: Dispute, score: int, at: datetime, comment: str | None = None) -> PartyRating:
    """A party of the case (added for it) rated the handling at ``at`` (naive UTC, as stored)."""
    party = Party(
        dispute=dispute,
        position=len(dispute.parties),
        role=PartyRole.APPLICANT,
        kind=PartyKind.PERSON,
        name=f"评价人{next(_seq)}",
    )
    db.session.add(party)
    db.session.flush()
    rating = PartyRating(
        dispute_id=dispute.id, party_id=party.id, score=score, comment=comment, created_at=at
    )
    db.session.add(rating)
    db.session.flush()
    return rating


def visit_score(
    world,
    dispute: Dispute,
    score: int | None,
    at: datetime,
    *,
    kind: FollowUpKind = FollowUpKind.SATISFACTION,
    status: FollowUpStatus = FollowUpStatus.DONE,
) -> FollowUp:
    """A 回访 of the case done at ``at`` (naive UTC) with the satisfaction score staff entered."""
    followup = FollowUp(
        dispute_id=dispute.id,
        kind=kind,
        anchor_on=at.date(),
        round=next(_seq),
        status=status,
        unit_id=(dispute.unit or world.committee_a).id,
        due_on=at.date(),
        done_at=at if status == FollowUpStatus.DONE else None,
        satisfaction=score,
    )
    db.session.add(followup)
    db.session.flush()
    return followup
