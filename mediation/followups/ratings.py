"""The parties' own rating of the handling (满意度评价, 1–5 and an optional comment): who may rate,
the rating a party gave, and giving one. The parties' page (/c/<case_code>) calls these; the case
page shows a case's ratings to staff; the reports count them in the 满意率 (mediation/reports/README.md).

One rating per party and case (the unique key ``uq_party_rating_dispute_party``): a double submit
of the same rating returns the stored one, a second different rating is refused.

Service functions flush; the caller commits once.
"""

from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from mediation import clock
from mediation.common.enums import Status
from mediation.common.validators import normalize_newlines, text_error
from mediation.disputes.models import Dispute, Party
from mediation.extensions import db
from mediation.followups.models import FollowUp, FollowUpStatus, PartyRating

SCORES = (1, 2, 3, 4, 5)
SCORE_LABELS = {1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "很满意"}
SATISFIED_FROM = 4  # a score of 4 or 5 is 满意 (the 满意率's numerator)
COMMENT_MAX = 500

ALREADY_RATED = "您已评价过本案。"
NOT_YET = "本案办结或回访后才能评价。"
NOT_A_PARTY = "您不是本案的当事人，不能评价。"


def visited(dispute: Dispute) -> bool:
    """A 回访 of the case is done."""
    return bool(
        db.session.scalar(
            select(exists().where(FollowUp.dispute_id == dispute.id, FollowUp.status == FollowUpStatus.DONE))
        )
    )


def rating_of(dispute: Dispute, party: Party) -> PartyRating | None:
    """The rating ``party`` gave on ``dispute``, None when none."""
    return db.session.scalar(
        select(PartyRating).where(PartyRating.dispute_id == dispute.id, PartyRating.party_id == party.id)
    )


def ratings_of_case(dispute: Dispute) -> list[PartyRating]:
    """Every party rating of the case, oldest first (the case page)."""
    return list(
        db.session.scalars(
            select(PartyRating)
            .where(PartyRating.dispute_id == dispute.id)
            .order_by(PartyRating.created_at, PartyRating.id)
        )
    )


def _refusal(dispute: Dispute, party: Party) -> str | None:
    """Why ``party`` may not rate ``dispute`` (whether rated or not), None when they may."""
    if party.dispute_id != dispute.id:
        return NOT_A_PARTY
    if dispute.status != Status.CLOSED and not visited(dispute):
        return NOT_YET
    return None


def may_rate(dispute: Dispute, party: Party) -> bool:
    """The party may rate the handling: the case is 已办结 or a 回访 of it is done, the party is one
    of the case's parties, and they have not rated it yet."""
    return _refusal(dispute, party) is None and rating_of(dispute, party) is None


def _clean(score, comment) -> tuple[int, str | None]:
    """The score (1–5; a form's "4" counts) and the comment (stripped, None when empty), or
    ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    value = None
    if isinstance(score, bool):
        score = None
    if isinstance(score, int):
        value = score
    elif isinstance(score, str) and score.strip().isdigit() and len(score.strip()) == 1:
        value = int(score.strip())
    if value not in SCORES:
        errors["score"] = ["请选择1至5分的评分。"]
    text = None
    if comment is not None:
        if not isinstance(comment, str):
            errors["comment"] = ["评价内容应为文字。"]
        else:
            text = normalize_newlines(comment).strip() or None
            if text is not None:
                if err := text_error(text, multiline=True):
                    errors["comment"] = [err]
                elif len(text) > COMMENT_MAX:
                    errors["comment"] = [f"评价内容最多{COMMENT_MAX}字（现有{len(text)}字）。"]
    if errors:
        raise ValidationError(errors)
    return value, text


def _same_or_refuse(existing: PartyRating, score: int, comment: str | None) -> PartyRating:
    if existing.score == score and (existing.comment or None) == comment:
        return existing  # the same submission again (a double tap, a retried request)
    raise ValidationError({"score": [ALREADY_RATED]})


def rate(dispute: Dispute, party: Party, score, comment: str | None = None) -> PartyRating:
    """The party rates the handling. Raises ValidationError (field → Chinese messages: ``score``,
    ``comment``). Submitting the same rating again returns the stored one; a different second
    rating is refused with 「您已评价过本案。」. Flushes; the caller commits."""
    value, text = _clean(score, comment)
    existing = rating_of(dispute, party)
    if existing is not None:
        return _same_or_refuse(existing, value, text)
    if (reason := _refusal(dispute, party)) is not None:
        raise ValidationError({"score": [reason]})
    rating = PartyRating(dispute_id=dispute.id, party_id=party.id, score=value, comment=text)
    rating.created_at = clock.now()
    try:
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        # Another request of the same party stored its rating between our check and our insert.
        existing = rating_of(dispute, party)
        if existing is None:
            raise
        return _same_or_refuse(existing, value, text)
    return rating


def rating_context(dispute: Dispute, party: Party) -> dict:
    """What templates/followups/_party_rating.html needs besides ``action_url`` and ``errors``:
    the party's rating (None when none) and whether they may rate now."""
    return {
        "rating": rating_of(dispute, party),
        "may_rate": may_rate(dispute, party),
        "score_labels": SCORE_LABELS,
        "comment_max": COMMENT_MAX,
    }
