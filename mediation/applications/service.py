"""网上申请调解: the rules of the public form, callable without a request.

- :func:`send_code` — the SMS code that proves the applicant's phone (sms.codes, purpose and scope
  ``apply``, limited per phone and per client address there).
- :func:`submit` — one application: the idempotency token first (a retried submit answers with the
  case it made), the place (down to a village/community or a grid, and a 综治中心 responsible for
  it), the daily limits (:func:`phone_limit_error`, :func:`address_limit_error`), the SMS code, then
  the ordinary registration (disputes.service.register, as the system on behalf of that 综治中心:
  case number, case code, duplicate warning, timeline, 分流建议), the photos and the SMS
  ``application_received`` with the case code.
- The refusal: a ``rejected`` event on a case filed online queues the SMS ``application_refused``
  with the reason (the 综治中心's action ``refuse_application``, disputes/workflow.py; also a later
  不予受理 by the unit it was routed to).

Everything writes in the caller's transaction; the caller commits (after a wrong code too, so that
the try counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from mediation import signals
from mediation.applications.models import ApplicationPhoto, OnlineApplication
from mediation.applications.photos import Photo
from mediation.common.enums import NodeLevel, PartyKind, PartyRole, RiskLevel, UnitType
from mediation.common.time import local_today, utcnow
from mediation.common.validators import mobile_error
from mediation.config import ONLINE_APPLICATION_SOURCE
from mediation.disputes.case_code import case_public_url, display_code
from mediation.disputes.models import Dispute
from mediation.disputes.service import register
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing.service import nearest_unit
from mediation.sms import codes, outbox

CODE_PURPOSE = "apply"
CODE_SCOPE = "apply"
# The levels an application's place must reach: the village (community) or one of its grids.
PLACE_LEVELS = (NodeLevel.VILLAGE, NodeLevel.COMMUNITY, NodeLevel.GRID)
SMS_REASON_CHARS = 40  # the reason in the refusal SMS; the parties' page shows it whole

WRONG_CODE = "验证码不正确或已失效，请重新获取验证码。"
NO_CENTER = "该地暂无负责的综治中心，无法网上申请，请到当地综治中心或人民调解委员会申请。"


@dataclass
class Submission:
    dispute: Dispute | None = None
    replayed: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)


def _address(address: str | None) -> str:
    return (address or "")[:64]


# --- the SMS code -----------------------------------------------------------------------------


def send_code(phone: str, address: str) -> str | None:
    """Send the applicant a one-time code; the refusal in Chinese, or None when it was queued."""
    if err := mobile_error(phone or ""):
        return err
    result = codes.issue_code(phone, CODE_PURPOSE, scope=CODE_SCOPE, address=_address(address))
    return None if result.ok else result.error


# --- the limits ----------------------------------------------------------------------------------


def _today_count(*conditions) -> int:
    return db.session.scalar(
        select(func.count(OnlineApplication.id)).where(
            OnlineApplication.created_on == local_today(), *conditions
        )
    )


def phone_limit_error(phone: str) -> str | None:
    """At most APPLY_PHONE_DAILY_LIMIT applications from one phone number per Shanghai day."""
    limit = int(current_app.config["APPLY_PHONE_DAILY_LIMIT"])
    if _today_count(OnlineApplication.phone == outbox.normalize_phone(phone)) >= limit:
        return f"该手机号今天已提交{limit}件调解申请，请明天再试；情况紧急的，请直接到当地综治中心求助。"
    return None


def address_limit_error(address: str) -> str | None:
    """At most APPLY_ADDRESS_DAILY_LIMIT applications from one client address per Shanghai day."""
    limit = int(current_app.config["APPLY_ADDRESS_DAILY_LIMIT"])
    if _today_count(OnlineApplication.address == _address(address)) >= limit:
        return "您所在网络今天提交的调解申请过多，请明天再试；情况紧急的，请直接到当地综治中心求助。"
    return None


# --- the place -----------------------------------------------------------------------------------


def place_error(node: Node | None) -> str | None:
    """The place of an application is a village (community) or a grid of the tree."""
    if node is None:
        return "请选择纠纷发生地，选到村（社区）或网格。"
    if node.level not in PLACE_LEVELS:
        return "请继续选择下一级，纠纷发生地须选到村（社区）或网格。"
    return None


def center_for(node: Node) -> Unit | None:
    """The 综治中心 responsible for the place (routing's reach rule): where the application lands."""
    return nearest_unit(node, unit_type=UnitType.CENTER)


def node_by_code(code: str | None) -> Node | None:
    if not code:
        return None
    return db.session.scalar(select(Node).where(Node.code == code))


def root_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).where(Node.parent_id.is_(None)).order_by(Node.code)))


def children_of(node: Node) -> list[Node]:
    return list(db.session.scalars(select(Node).where(Node.parent_id == node.id).order_by(Node.code)))


def place_steps(codes_: list[str]) -> tuple[list[tuple[list[Node], Node | None]], Node | None]:
    """The stepwise picker: ``codes_`` are the choices of each level as submitted (区, 镇/街道,
    村/社区, 网格 …). Returns the levels to show — (options, chosen) each, the next unchosen level
    last — and the deepest node chosen. A choice that is not a child of the one above ends the walk."""
    steps: list[tuple[list[Node], Node | None]] = []
    options, chosen_node = root_nodes(), None
    for code in codes_:
        match = next((n for n in options if n.code == code), None)
        if match is None:
            break
        steps.append((options, match))
        chosen_node, options = match, children_of(match)
        if not options:
            break
    if options:
        steps.append((options, None))
    return steps, chosen_node


# --- the application -----------------------------------------------------------------------------


def find_by_token(token: str) -> OnlineApplication | None:
    return db.session.scalar(select(OnlineApplication).where(OnlineApplication.token == token))


def summary_text(data: dict) -> str:
    return f"【事情经过】{data['facts']}\n【申请人请求】{data['requests']}"


def registration_payload(data: dict, node: Node) -> dict:
    applicant = {
        "role": PartyRole.APPLICANT.value,
        "kind": PartyKind.PERSON.value,
        "name": data["name"],
        "id_number": data.get("id_number"),
        "phone": outbox.normalize_phone(data["phone"]),
    }
    others = [
        {
            "role": PartyRole.RESPONDENT.value,
            "kind": o.get("kind") or PartyKind.PERSON.value,
            "name": o["name"],
            "phone": o.get("phone"),
            "address": o.get("address"),
        }
        for o in data["others"]
    ]
    return {
        "category": data["category"],
        "source": ONLINE_APPLICATION_SOURCE,
        "summary": summary_text(data),
        "node": node.code,
        "risk_level": RiskLevel.ORDINARY.value,
        "flags": [],
        "parties": [applicant, *others],
    }


def _place(data: dict) -> tuple[Node | None, Unit | None, dict[str, list[str]]]:
    node = node_by_code(data["node"])
    if message := place_error(node):
        return None, None, {"node": [message]}
    center = center_for(node)
    if center is None:
        return None, None, {"node": [NO_CENTER]}
    return node, center, {}


def submit(data: dict, photos: list[Photo], *, token: str, address: str) -> Submission:
    """File a validated ``ApplicationIn`` (see the module's docstring). ``errors`` by field when refused."""
    previous = find_by_token(token)
    if previous is not None:
        return Submission(previous.dispute, replayed=True)
    node, center, errors = _place(data)
    if errors:
        return Submission(errors=errors)
    phone, address = outbox.normalize_phone(data["phone"]), _address(address)
    if message := phone_limit_error(phone) or address_limit_error(address):
        return Submission(errors={"_schema": [message]})
    if not codes.check_code(phone, CODE_PURPOSE, CODE_SCOPE, data["code"], address):
        return Submission(errors={"code": [WRONG_CODE]})
    dispute = register(None, registration_payload(data, node), unit=center).dispute
    application = OnlineApplication(
        dispute=dispute,
        token=token,
        phone=phone,
        address=address,
        created_at=utcnow(),
        created_on=local_today(),
    )
    for position, photo in enumerate(photos):
        application.photos.append(
            ApplicationPhoto(
                dispute_id=dispute.id,
                position=position,
                mimetype=photo.mimetype,
                width=photo.width,
                height=photo.height,
                size=len(photo.data),
                data=photo.data,
            )
        )
    db.session.add(application)
    db.session.flush()
    outbox.enqueue(
        phone,
        "application_received",
        {"case_code": display_code(dispute), "url": case_public_url(dispute)},
        dedupe_key=f"application_received:{dispute.id}",
        dispute=dispute,
    )
    return Submission(dispute)


def application_of(dispute: Dispute) -> OnlineApplication | None:
    return db.session.scalar(select(OnlineApplication).where(OnlineApplication.dispute_id == dispute.id))


def photos_of(dispute: Dispute) -> list[ApplicationPhoto]:
    """The photos of a case filed online (metadata only; the bytes are loaded by the photo view)."""
    return list(
        db.session.scalars(
            select(ApplicationPhoto)
            .where(ApplicationPhoto.dispute_id == dispute.id)
            .order_by(ApplicationPhoto.position, ApplicationPhoto.id)
        )
    )


def photo_of(dispute: Dispute, photo_id: int) -> ApplicationPhoto | None:
    """A photo of this case (None when the id belongs to another case)."""
    return db.session.scalar(
        select(ApplicationPhoto).where(
            ApplicationPhoto.id == photo_id, ApplicationPhoto.dispute_id == dispute.id
        )
    )


# --- the refusal ---------------------------------------------------------------------------------


def sms_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    return text if len(text) <= SMS_REASON_CHARS else text[: SMS_REASON_CHARS - 1] + "…"


def notify_refused(application: OnlineApplication, reason: str | None):
    """The SMS ``application_refused`` to the applicant (once per case)."""
    dispute = application.dispute
    return outbox.enqueue(
        application.phone,
        "application_refused",
        {"reason": sms_reason(reason), "url": case_public_url(dispute)},
        dedupe_key=f"application_refused:{dispute.id}",
        dispute=dispute,
    )


def _on_event(sender, event=None, **kwargs):
    if sender != "rejected" or event is None or event.dispute is None:
        return None
    application = application_of(event.dispute)
    if application is None:
        return None
    return notify_refused(application, event.note)


signals.event_added.connect(_on_event)
