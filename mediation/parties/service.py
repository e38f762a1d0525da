"""The parties' door: who a phone is, the one-time code, the access rule and what the page shows.

Neutral answers: whether a case code exists and whether a phone is on file for one of its parties is
never told — an unknown or malformed case code, a phone not on file and a phone on file all get the
same answer (:data:`CODE_SENT`); a wrong code, an expired one and a code for a phone not on file all
get :data:`WRONG_CODE`. The limits: :func:`mediation.sms.codes.issue_code` (per phone, case code and
address; its refusals other than the address limit are not shown, they would tell a phone is on
file), :func:`mediation.sms.codes.check_code` (tries per code) and :func:`check_limit_error` (wrong
codes per address, across codes and cases)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from mediation.common.time import utcnow
from mediation.common.validators import mask_id_number, mask_phone, mobile_error
from mediation.disputes.case_code import display_code
from mediation.disputes.models import Dispute, Party
from mediation.documents import service as documents
from mediation.documents.models import Agreement
from mediation.extensions import db
from mediation.orgs.service import profile_of
from mediation.parties.models import PartyCodeFailure, PartySession
from mediation.parties.plain import Plain, plain_stage
from mediation.sessions.service import PartySession as PartySessionView
from mediation.sessions.service import sessions_for_party
from mediation.sms import codes
from mediation.sms.outbox import normalize_phone

PURPOSE = "party"  # the codes' purpose; their scope is the case code
CODE_SENT = "若该号码为本案登记的当事人号码，验证码已发送，请查收短信。"
WRONG_CODE = "验证码错误或已失效，请重新获取验证码。"
# The forms a party downloads (addressed to them), when they apply to the case (documents.form_applies).
PARTY_FORMS = {"acceptance": "人民调解受理通知书", "rejection": "不予受理通知书"}


# ---------------------------------------------------------------------------------- who is it


def party_for_phone(dispute: Dispute | None, phone: str) -> Party | None:
    """The first party (in the case's order) whose phone on file is ``phone``, or None."""
    phone = normalize_phone(phone)
    if dispute is None or not phone:
        return None
    return next((p for p in dispute.parties if normalize_phone(p.phone or "") == phone), None)


def phone_error(phone: str) -> str | None:
    """The phone field as typed: a mobile number (the same answer for every case)."""
    if not normalize_phone(phone):
        return "请输入手机号码。"
    return mobile_error(normalize_phone(phone))


def request_code(dispute: Dispute | None, phone: str, address: str) -> str | None:
    """A code to ``phone`` if it is on file for a party of the case. Returns a refusal that does not
    depend on the phone (bad number, the address limit), else None: then the answer is
    :data:`CODE_SENT`, whatever happened. Writes in the caller's transaction."""
    if err := phone_error(phone):
        return err
    if err := codes.address_limit_error((address or "")[:64]):
        return err
    if party_for_phone(dispute, phone) is not None:
        codes.issue_code(normalize_phone(phone), PURPOSE, scope=dispute.case_code, address=address)
    return None


def check_limit_error(address: str) -> str | None:
    """At most PARTY_CHECK_ADDRESS_LIMIT wrong codes from one address within PARTY_CHECK_ADDRESS_WINDOW
    seconds."""
    window = int(current_app.config["PARTY_CHECK_ADDRESS_WINDOW"])
    since = utcnow() - timedelta(seconds=window)
    count = db.session.scalar(
        select(func.count(PartyCodeFailure.id)).where(
            PartyCodeFailure.address == (address or "")[:64], PartyCodeFailure.at > since
        )
    )
    if count >= int(current_app.config["PARTY_CHECK_ADDRESS_LIMIT"]):
        minutes = (window + 59) // 60
        return f"验证码错误次数过多，请{minutes}分钟后再试。"
    return None


def verify(dispute: Dispute | None, phone: str, code: str, address: str) -> Party | None:
    """The party proven by ``code``, or None (then a failure is counted for the address). The caller
    commits in both cases, so that the try counts."""
    party = party_for_phone(dispute, phone)
    ok = (
        dispute is not None
        and not phone_error(phone)
        and codes.check_code(normalize_phone(phone), PURPOSE, dispute.case_code, code, address)
    )
    if ok and party is not None:
        return party
    db.session.add(PartyCodeFailure(address=(address or "")[:64], at=utcnow()))
    return None


# ---------------------------------------------------------------------------------- access


def may_open_case(party_session: PartySession | None, dispute: Dispute | None) -> bool:
    """A party session opens the pages of its own case only."""
    return party_session is not None and dispute is not None and party_session.dispute_id == dispute.id


def may_download_form(dispute: Dispute, kind: str) -> bool:
    """The 受理通知书 once the case is accepted, the 不予受理通知书 when it is not (the documents' own
    rule, :func:`mediation.documents.service.form_applies`)."""
    return kind in PARTY_FORMS and documents.form_applies(dispute, kind)


def effective_agreements(dispute: Dispute) -> list[Agreement]:
    """The case's agreements in effect whose signed PDF was issued (drafts are never given out)."""
    out = []
    for agreement in documents.agreements_of(dispute):
        doc = documents.signed_agreement(agreement) if agreement.is_effective else None
        if doc is not None and doc.pdf is not None:
            out.append(agreement)
    return out


def party_agreement(dispute: Dispute, agreement_id: int) -> Agreement | None:
    """The agreement of THIS case in effect, or None."""
    return next((a for a in effective_agreements(dispute) if a.id == agreement_id), None)


# ---------------------------------------------------------------------------------- the page


def _sessions_for(dispute: Dispute, party: Party) -> list[PartySessionView]:
    """The scheduled sessions the party is invited to (time, place, unit, state), upcoming first:
    :func:`mediation.sessions.service.sessions_for_party`, the scheduled-sessions slice's one rule."""
    return sessions_for_party(dispute, party)


@dataclass
class PartyLine:
    role: str
    name: str
    phone: str
    id_number: str
    is_me: bool


@dataclass
class CaseView:
    case_no: str
    case_code: str
    category: str
    plain: Plain
    unit_name: str
    unit_phone: str  # the organisation's public 联系电话 (调解组织 profile), when it has one
    unit_address: str  # its 场所
    mediator: str
    registered_on: date
    accepted_on: date | None
    deadline: date | None
    closed_on: date | None
    outcome: str | None
    reason: str
    me: PartyLine
    parties: list[PartyLine] = field(default_factory=list)
    sessions: list = field(default_factory=list)
    forms: list[tuple[str, str]] = field(default_factory=list)  # (kind, title)
    agreements: list[Agreement] = field(default_factory=list)


def _line(party: Party, me: Party) -> PartyLine:
    """Every party's phone and ID number masked as for the most restricted staff role (the party's own
    too: the page does not need them in full)."""
    return PartyLine(
        role=str(party.role),
        name=party.name,
        phone=mask_phone(party.phone) or "",
        id_number=mask_id_number(party.id_number) or "",
        is_me=party.id == me.id,
    )


def case_view(dispute: Dispute, party: Party) -> CaseView:
    """What the party's page shows. Nothing else of the case: no summary, timeline notes (but the
    reason of a 不予受理), staff names (but the mediator's), other parties' phones or ID numbers."""
    outcome = dispute.outcome.value if dispute.outcome else None
    unit = dispute.unit or dispute.registering_unit
    profile = profile_of(unit) if unit else None
    # The 承办调解员 the case names (the 调解员 registry); else the staff member handling it.
    named = ", ".join(m.name for m in getattr(dispute, "mediators", []) if m.active)
    return CaseView(
        case_no=dispute.case_no,
        case_code=display_code(dispute),
        category=dispute.category,
        plain=plain_stage(dispute),
        unit_name=unit.name if unit else "",
        unit_phone=(profile.phone or "") if profile else "",
        unit_address=(profile.address or "") if profile else "",
        mediator=named.replace(", ", "、") or (dispute.handler.name if dispute.handler else ""),
        registered_on=dispute.registered_on,
        accepted_on=dispute.accepted_on,
        deadline=dispute.deadline if dispute.closed_on is None else None,
        closed_on=dispute.closed_on,
        outcome=outcome,
        reason=documents.rejection_reason(dispute) if outcome == "不予受理" else "",
        me=_line(party, party),
        parties=[_line(p, party) for p in dispute.parties],
        sessions=_sessions_for(dispute, party),
        forms=[(kind, title) for kind, title in PARTY_FORMS.items() if may_download_form(dispute, kind)],
        agreements=effective_agreements(dispute),
    )
