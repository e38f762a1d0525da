"""Documents of the demo: seals, the signing certificate, agreements drafted, signed, sealed and
issued as signed PDFs, and 司法确认 of some of them."""

from __future__ import annotations

import base64
import io
import math
import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from mediation import clock
from mediation.accounts.models import User
from mediation.common.enums import (
    Outcome,
    Role,
    Status,
    UnitType,
)
from mediation.common.time import local_date
from mediation.demo.base import DISTRICT_CODE, SEED, local_instant, moment, spaced
from mediation.demo.material import ISSUES, cn_date, party_names
from mediation.demo.world import COMMITTEE_FEATURED, History
from mediation.disputes import workflow
from mediation.disputes.models import Dispute
from mediation.disputes.workflow_schemas import ConfirmationApplyIn, ConfirmationRuleIn
from mediation.documents import service as documents
from mediation.documents import signing
from mediation.documents.models import SignerKind, SignMethod
from mediation.extensions import db
from mediation.geo.models import Unit

MAX_AGREEMENTS, FEATURED_AGREEMENTS, AGREEMENTS_PER_UNIT = 6, 3, 1
AGREEMENT_WINDOW_DAYS = 50
FONT_CANDIDATES = (  # (file, index of the SC face); the first that loads is used
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
PAY_ITEMS = {
    "邻里": "维修费及损失补偿",
    "婚姻家庭": "补偿款",
    "房屋宅基地": "补偿款",
    "山林土地": "土地流转费",
    "合同": "相关款项",
    "债务": "欠款",
    "生产经营": "补偿款",
    "损害赔偿": "医疗费、误工费等各项损失",
    "劳动争议/欠薪": "拖欠的工资及经济补偿",
    "征地拆迁": "补偿款",
    "医疗": "赔偿款",
    "物业": "赔偿款",
    "道路交通事故": "医疗费、误工费、车辆维修费等各项损失",
    "消费": "退款及赔偿",
    "涉军/退役军人": "生活补助",
}
RESPONSIBILITIES = (
    "经调解员释法明理，被申请人{b}认可对纠纷的发生负有主要责任，愿意承担相应的给付义务；申请人{a}同意适当减少诉求。",
    "双方均认可纠纷因沟通不畅而起，被申请人{b}对造成的损失负主要责任，申请人{a}负次要责任。",
    "被申请人{b}对申请人{a}主张的基本事实无异议，愿意承担责任；申请人{a}考虑到对方的实际困难，同意减少部分金额。",
)
NON_MONEY_TERMS = (
    "一、被申请人{b}于{due}前完成整改，消除对申请人{a}生活的影响，今后不再发生类似问题。\n"
    "二、双方今后和睦相处，遇事协商解决，不得采取过激行为。\n三、双方就本纠纷再无其他争议。",
    "一、被申请人{b}向申请人{a}当面赔礼道歉，并于{due}前履行承诺的整改措施。\n"
    "二、申请人{a}不再追究被申请人的其他责任。\n三、双方就本纠纷再无其他争议。",
)
PAY_METHODS = (
    "被申请人以银行转账方式支付至申请人{a}指定的账户。",
    "被申请人以现金方式当场支付，由调解员见证，申请人{a}出具收条。",
    "被申请人通过微信转账支付，申请人{a}收到后出具收条。",
)


DIGITS_UPPER = "零壹贰叁肆伍陆柒捌玖"


def upper_group(group: int) -> str:
    """A group of four digits (1..9999) in 大写: 1050 → 壹仟零伍拾."""
    part, gap = "", False
    for place, unit in zip((1000, 100, 10, 1), ("仟", "佰", "拾", ""), strict=True):
        d = group // place % 10
        if d:
            part += ("零" if gap else "") + DIGITS_UPPER[d] + unit
            gap = False
        elif part:
            gap = True
    return part


def upper_yuan(yuan: int) -> str:
    """Whole yuan in 大写, groups of four digits (万, 亿) with the 零 between them; "" for 0."""
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    text, zero = "", False
    for i in reversed(range(len(groups))):
        group = groups[i]
        if group == 0:
            zero = bool(text)
            continue
        if text and (zero or group < 1000):
            text += "零"
        text += upper_group(group) + ("", "万", "亿", "万亿")[i]
        zero = False
    return text


def rmb_upper(amount: Decimal) -> str:
    """人民币大写: 3500 → 叁仟伍佰元整, 10500.5 → 壹万零伍佰元伍角."""
    cents = int((amount * 100).quantize(Decimal("1")))
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = (upper_yuan(yuan) or "零") + "元"
    if not jiao and not fen:
        return text + "整"
    if jiao:
        text += DIGITS_UPPER[jiao] + "角"
    elif text != "零元":
        text += "零"
    return text + (DIGITS_UPPER[fen] + "分" if fen else "")


def cjk_font(size: int):
    from PIL import ImageFont  # heavy: PIL stays out of start-up

    for path, index in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, size, index=index)
        except OSError:
            continue
    return None


def seal_png(name: str) -> bytes:
    """A red round seal: the unit's name along the top of the ring, a star in the middle."""

    from PIL import Image, ImageDraw  # heavy: PIL stays out of start-up

    size, red = 420, (206, 24, 24, 255)
    c = size / 2
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((10, 10, size - 10, size - 10), outline=red, width=12)
    star = [
        (
            c + (64 if k % 2 == 0 else 25) * math.cos(-math.pi / 2 + k * math.pi / 5),
            c + (64 if k % 2 == 0 else 25) * math.sin(-math.pi / 2 + k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=red)
    radius, arc = c - 62, 250.0
    step = arc / max(len(name), 1)
    font = cjk_font(int(min(50, 0.95 * radius * math.radians(step))))
    if font is not None:
        for i, char in enumerate(name):
            angle = -arc / 2 + step * (i + 0.5)  # degrees from the top, clockwise
            tile = Image.new("RGBA", (72, 72), (0, 0, 0, 0))
            ImageDraw.Draw(tile).text((36, 36), char, font=font, fill=red, anchor="mm")
            tile = tile.rotate(-angle, resample=Image.Resampling.BICUBIC)
            x = c + radius * math.sin(math.radians(angle))
            y = c - radius * math.cos(math.radians(angle))
            img.alpha_composite(tile, (round(x - 36), round(y - 36)))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def signature_data_url(name: str) -> str | None:
    """A handwritten-looking signature of ``name`` (a data URL), or None without a CJK font."""

    from PIL import Image, ImageDraw  # heavy: PIL stays out of start-up

    font = cjk_font(76)
    if font is None:
        return None
    img = Image.new("RGBA", (96 * len(name) + 60, 150), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((30, 30), name, font=font, fill=(25, 35, 95, 255))
    img = img.rotate(5, expand=True, resample=Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def ensure_signing_certificate() -> str:
    """Each signing unit's demo certificate, as `flask documents demo-cert` makes them (kept when they
    exist, so the documents signed with them stay verifiable; a deployment's own certificate is left
    alone). A unit signs only with a certificate in its own name."""

    if signing._setting("SIGNING_P12_PATH"):
        return "已配置签章证书（SIGNING_P12_PATH），未生成演示证书。"
    directory = signing.signing_dir()
    password = signing._setting("SIGNING_P12_PASSWORD") or signing.DEMO_PASSWORD
    made = signing.create_unit_demo_certificates(Path(directory), signing.signing_units(), password=password)
    if not made:
        return f"各单位的演示签章证书已存在：{directory}。"
    return f"已生成演示签章证书（仅供演示，每个出具文书的单位一个，共 {len(made)} 个）：{directory}。"


def agreement_fields(dispute, rng: random.Random, effective_on: date) -> dict:
    """人民调解法第29条: facts, matters in dispute, responsibilities, terms, how and by when."""
    a, b = party_names(dispute)
    due = effective_on + timedelta(days=rng.choice((3, 7, 10, 15, 30)))
    fields = {
        "facts": dispute.summary,
        "issues": f"双方争议的焦点为{ISSUES.get(dispute.category, '各自的诉求')}。",
        "responsibilities": rng.choice(RESPONSIBILITIES).format(a=a, b=b),
        "performance_due": due,
    }
    if dispute.amount and dispute.category in PAY_ITEMS:
        share = Decimal(rng.choice((50, 60, 70, 80, 90, 100))) / 100
        agreed = max(Decimal(100), (dispute.amount * share / 100).quantize(Decimal("1")) * 100)
        item = PAY_ITEMS[dispute.category]
        if agreed >= 20000 and rng.random() < 0.5:
            first = (agreed / 2 / 100).quantize(Decimal("1")) * 100
            second_due = due + timedelta(days=30)
            pay = (
                f"一、被申请人{b}分两期向申请人{a}支付{item}共计人民币{rmb_upper(agreed)}（¥{agreed:,.2f}）："
                f"于{cn_date(due)}前支付人民币{rmb_upper(first)}（¥{first:,.2f}），"
                f"于{cn_date(second_due)}前支付剩余的人民币{rmb_upper(agreed - first)}（¥{agreed - first:,.2f}）。"
            )
            fields["performance_due"] = second_due
        else:
            pay = (
                f"一、被申请人{b}于{cn_date(due)}前一次性向申请人{a}支付{item}人民币{rmb_upper(agreed)}"
                f"（¥{agreed:,.2f}）。"
            )
        fields["terms"] = (
            pay + f"\n二、申请人{a}收到上述款项后，双方就本纠纷再无其他争议，今后不得以同一事由再行主张。"
        )
        fields["performance_method"] = rng.choice(PAY_METHODS).format(a=a)
    else:
        fields["terms"] = rng.choice(NON_MONEY_TERMS).format(a=a, b=b, due=cn_date(due))
        fields["performance_method"] = f"由双方自行履行，{dispute.unit.name}负责监督落实。"
    return fields


def agreement_cases(h: History) -> list:
    """Recent 调解成功 cases of 调委会 with a mediator account and two parties: a few per committee,
    more for the featured one, newest first."""

    since = h.today - timedelta(days=AGREEMENT_WINDOW_DAYS)
    candidates = db.session.scalars(
        select(Dispute)
        .join(Unit, Unit.id == Dispute.unit_id)
        .where(
            Dispute.status == Status.CLOSED,
            Dispute.outcome == Outcome.SUCCESS,
            Dispute.closed_on >= since,
            Unit.type == UnitType.COMMITTEE,
            Dispute.node_id.in_([n.id for n in h.world.nodes.values()]),
        )
        .order_by(Dispute.closed_on.desc(), Dispute.id.desc())
    ).all()
    chosen, per_unit = [], Counter()
    for d in candidates:
        quota = FEATURED_AGREEMENTS if d.unit.code == COMMITTEE_FEATURED else AGREEMENTS_PER_UNIT
        user = h.user(d.unit)
        if len(d.parties) < 2 or per_unit[d.unit_id] >= quota or user is None or user.role != Role.MEDIATOR:
            continue
        chosen.append(d)
        per_unit[d.unit_id] += 1
        if len(chosen) >= MAX_AGREEMENTS:
            break
    return chosen


def open_agreement_case(h: History):
    """The open case of a 调委会 (the featured one first) whose agreement is still being signed."""

    return db.session.scalars(
        select(Dispute)
        .join(Unit, Unit.id == Dispute.unit_id)
        .where(
            Dispute.status == Status.HANDLING,
            Dispute.accepted_on.is_not(None),
            Unit.type == UnitType.COMMITTEE,
            Dispute.node_id.in_([n.id for n in h.world.nodes.values()]),
        )
        .order_by((Unit.code == COMMITTEE_FEATURED).desc(), Dispute.registered_on.desc(), Dispute.id.desc())
    ).first()


def upload_seals(h: History, admin: User, units: list[Unit]) -> None:
    """A seal for each unit without one, uploaded by the admin when the platform went live."""

    first_day = db.session.scalar(select(func.min(Dispute.registered_on)))
    with clock.frozen(local_instant(first_day, 9 * 3600)):
        for unit in sorted(units, key=lambda u: u.code):
            if documents.active_seal(unit) is None:
                documents.upload_seal(admin, unit, seal_png(unit.name))
                h.stats["seals"] += 1


def parties_sign(agreement, user: User, rng: random.Random, times) -> None:
    """Every party signs, on paper or (persons, sometimes) with a fingerprint."""

    for index, party in enumerate(agreement.parties):
        method = (
            SignMethod.PAPER if party["kind"] != "自然人" or rng.random() < 0.65 else SignMethod.FINGERPRINT
        )
        with clock.frozen(next(times)):
            documents.sign(user, agreement, SignerKind.PARTY, party_index=index, method=method)


def agreement_in_effect(h: History, d) -> None:
    """Drafted, submitted, signed by the parties and the mediator, sealed (in effect, the signed PDF
    issued) in the hours before the case was closed; the closing note names it."""

    rng = random.Random(f"{SEED}:agreement:{d.case_no}")
    user = h.user(d.unit)
    closed = next(e for e in reversed(d.events) if e.type == "closed")
    lo = max([e.at for e in d.events if e.at < closed.at] + [local_instant(d.closed_on, 0)])
    steps = 5 + len(d.parties)  # draft, submit, parties, mediator, seal, (spare)
    times = iter(spaced(rng, lo, closed.at, steps, timedelta(hours=2)))
    with clock.frozen(next(times)):
        agreement = documents.draft_agreement(user, d, agreement_fields(d, rng, local_date(closed.at)))
    with clock.frozen(next(times)):
        documents.submit_for_signing(user, agreement)
    parties_sign(agreement, user, rng, times)
    signature = signature_data_url(user.name)
    with clock.frozen(next(times)):
        documents.sign(
            user,
            agreement,
            SignerKind.MEDIATOR,
            method=SignMethod.DRAWN if signature else SignMethod.PAPER,
            image=signature,
        )
    with clock.frozen(next(times)):
        documents.affix_seal(user, agreement)  # the last step: in effect, the signed PDF issued
    closed.note = (
        f"双方签订人民调解协议书，编号{agreement.number}，协议已生效，"
        f"约定于{cn_date(agreement.performance_due)}前履行完毕。"
    )
    h.agreements.append(agreement)
    h.stats["agreements"] += 1


def agreement_in_signing(h: History, open_case) -> None:
    """Drafted and submitted yesterday or today, signed by the applicant only."""

    rng = random.Random(f"{SEED}:agreement:{open_case.case_no}")
    user = h.user(open_case.unit)
    last = max(e.at for e in open_case.events)
    day = max(local_date(last), h.today - timedelta(days=1))
    hi = min(h.now - timedelta(minutes=1), local_instant(day, 17 * 3600 + 1800))
    times = iter(spaced(rng, max(last, local_instant(day, 8 * 3600)), hi, 3, timedelta(hours=3)))
    fields = agreement_fields(open_case, rng, day)
    with clock.frozen(next(times)):
        agreement = documents.draft_agreement(user, open_case, fields)
    with clock.frozen(next(times)):
        documents.submit_for_signing(user, agreement)
    with clock.frozen(next(times)):
        documents.sign(user, agreement, SignerKind.PARTY, party_index=0, method=SignMethod.PAPER)
    h.stats["agreements_signing"] += 1


def load_documents(h: History) -> None:
    """The demo certificate, a seal per 调委会 with agreements, agreements in effect for recent
    调解成功 cases (drafted, signed on paper or with a fingerprint by the parties, signed by the
    mediator, sealed: in effect, with the signed PDF), and one agreement still being signed."""
    h.messages.append(ensure_signing_certificate())
    chosen = agreement_cases(h)
    open_case = open_agreement_case(h)
    units = {d.unit_id: d.unit for d in [*chosen, *([open_case] if open_case else [])]}
    admin = h.world.users.get("admin")
    if not units or admin is None:
        return
    upload_seals(h, admin, list(units.values()))
    for d in sorted(chosen, key=lambda d: (d.closed_on, d.id)):
        agreement_in_effect(h, d)
    if open_case is not None and len(open_case.parties) >= 2:  # one still being signed
        agreement_in_signing(h, open_case)


def judicial_confirmations(h: History) -> None:
    """司法确认 through the workflow: one applied for and waiting, one ruled 确认有效."""

    court = h.world.units.get(f"{DISTRICT_CODE}-FY")
    fayuan = h.world.users.get("fayuan")
    if court is None or not h.agreements:
        return
    by_age = sorted(h.agreements, key=lambda a: a.effective_on, reverse=True)
    pending = next((a for a in by_age if 3 <= (h.today - a.effective_on).days <= 25), None)
    ruled = next((a for a in by_age if (h.today - a.effective_on).days >= 16 and a is not pending), None)
    for agreement, rule in ((ruled, True), (pending, False)):
        if agreement is None:
            continue
        d = agreement.dispute
        rng = random.Random(f"{SEED}:confirmation:{d.case_no}")
        user = h.user(d.unit)
        applied = agreement.effective_on + timedelta(days=rng.randint(2, 3))
        at = moment(rng, agreement.effective_at, h.now, applied)
        with clock.frozen(at):
            workflow.perform(
                user,
                d,
                "apply_confirmation",
                ConfirmationApplyIn().load(
                    {
                        "applied_on": applied.isoformat(),
                        "agreement_on": agreement.effective_on.isoformat(),
                        "court": court.code,
                    }
                ),
            )
        h.stats["confirmations"] += 1
        if rule and fayuan is not None:
            ruled_on = applied + timedelta(days=rng.randint(6, 10))
            with clock.frozen(moment(rng, at, h.now, ruled_on)):
                workflow.perform(
                    fayuan,
                    d,
                    "rule_confirmation",
                    ConfirmationRuleIn().load(
                        {
                            "ruling_no": f"（{ruled_on.year}）津0116民特{rng.randint(100, 899)}号",
                            "result": "确认有效",
                            "ruled_on": ruled_on.isoformat(),
                        }
                    ),
                )
