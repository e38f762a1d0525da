"""Disputes and their history: planned life cycles written with their historical dates, the sessions
between the steps, a court's 诉前委派 and a 民转刑 warning."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from mediation import clock
from mediation.accounts.access import subtree_node_ids
from mediation.common.enums import (
    NodeLevel,
    Outcome,
    PartyKind,
    PartyRole,
    RiskFlag,
    RiskLevel,
    Role,
    Status,
    UnitType,
)
from mediation.common.time import SHANGHAI, local_date, local_today, to_local, utcnow
from mediation.demo.base import BATCH, DISTRICT_CODE, SEED, WINDOW_DAYS, local_instant, moment, weighted
from mediation.demo.followups import stabilize_visits
from mediation.demo.material import (
    AMOUNTS,
    CATEGORY_WEIGHTS,
    CLOSE_NOTES,
    COMPANIES,
    FINAL_SESSION,
    FIRMS,
    FIRST_SESSION,
    GENERIC,
    HANDLERS,
    ISSUES,
    MIDDLE_SESSION,
    ROADS,
    SOURCE_HINTS,
    STABILIZE_SESSION,
    TEMPLATES,
    Template,
    address,
    amount_text,
    cn_date,
    id_number,
    mobile,
    party_names,
    person_name,
    uscc,
)
from mediation.demo.people import staff_name
from mediation.demo.world import COMMITTEE_FEATURED, TOWN_FEATURED, History, Place, World
from mediation.disputes import workflow
from mediation.disputes.models import Dispute, Party
from mediation.disputes.service import add_event, is_prominent, next_case_no
from mediation.disputes.workflow_schemas import AcceptIn, CourtReferralIn, PoliceNotificationIn, SessionIn
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing.deadlines import deadline_for


@dataclass
class Plan:
    registered_on: date
    status: Status = Status.PENDING
    outcome: Outcome | None = None
    steps: list[tuple[str, date]] = field(default_factory=list)


def registration_dates(rng: random.Random, today: date, count: int) -> tuple[list[date], int]:
    """Sorted registration dates, and how many of the latest cases are still waiting (待分流)."""
    # Slightly more cases recently (the service is being taken up), about eight months in all.
    days = sorted(today - timedelta(days=int(WINDOW_DAYS * (1 - rng.random() ** 0.85))) for _ in range(count))
    pending = max(2, round(count * 0.03)) if count >= 8 else 0
    for i in range(count - pending, count):
        days[i] = today - timedelta(days=rng.randint(0, 2))
    return sorted(days), pending


def choose_status(rng: random.Random, age: int) -> Status:
    if age > 60:
        weights = (90, 5, 5)
    elif age > 30:
        weights = (70, 20, 10)
    elif age > 10:
        weights = (35, 55, 10)
    else:
        weights = (20, 74, 6)
    return rng.choices((Status.CLOSED, Status.HANDLING, Status.STABILIZED), weights=weights)[0]


def ensure_mix(plans: list[Plan], today: date) -> None:
    """With enough cases, every status appears and some open cases are long overdue."""
    if len(plans) < 8:
        return
    counts = Counter(p.status for p in plans)
    old = [p for p in plans if (today - p.registered_on).days > 50]
    middle = [p for p in plans if 15 < (today - p.registered_on).days <= 50]
    if not any(p.status == Status.HANDLING for p in old) and old:
        old[len(old) // 2].status = Status.HANDLING
    if counts[Status.STABILIZED] == 0 and (middle or old):
        (middle or old)[0].status = Status.STABILIZED
    if counts[Status.CLOSED] == 0 and old:
        old[0].status = Status.CLOSED


def later(rng: random.Random, day: date, low: int, high: int, today: date) -> date:
    return min(today, day + timedelta(days=rng.randint(low, high)))


def plan_steps(rng: random.Random, plan: Plan, today: date, prominent: bool) -> None:
    """Dates of routing, acceptance, stabilisation and closing for the planned status."""
    plan.steps = [("registered", plan.registered_on)]
    if plan.status == Status.PENDING:
        return
    routed = later(rng, plan.registered_on, 0, 2, today) if rng.random() < 0.4 else plan.registered_on
    plan.steps.append(("routed", routed))
    if plan.status == Status.CLOSED:
        plan.outcome = rng.choices(list(Outcome), weights=(72, 13, 7, 8))[0]
        if plan.outcome == Outcome.REJECTED:  # 不予受理 closes the case without acceptance
            plan.steps.append(("rejected", later(rng, routed, 0, 3, today)))
            return
    accepted = later(rng, routed, 0, 2, today)
    plan.steps.append(("accepted", accepted))
    if plan.status == Status.STABILIZED or (
        plan.status == Status.CLOSED and prominent and rng.random() < 0.4
    ):
        plan.steps.append(("stabilized", later(rng, accepted, 2, 15, today)))
    if plan.status == Status.CLOSED:
        span = {Outcome.SUCCESS: (2, 28), Outcome.FAILURE: (10, 45), Outcome.WITHDRAWN: (1, 15)}[plan.outcome]
        plan.steps.append(("closed", later(rng, plan.steps[-1][1], *span, today)))


def step_times(
    rng: random.Random, steps: list[tuple[str, date]], today: date, now: datetime
) -> list[datetime]:
    """Working-hours moments, strictly increasing, none in the future.

    The random stream advances by the same amount whatever the time of day (steps dated today get
    a shorter span), so the cases after them are the same whenever the demo runs that day."""
    result: list[datetime] = []
    i = 0
    now_local = now.replace(tzinfo=UTC).astimezone(SHANGHAI)
    while i < len(steps):
        day = steps[i][1]
        same = [s for s in steps[i:] if s[1] == day]
        k = len(same)
        start, end = 8 * 3600 + 1800, 17 * 3600 + 1800
        if day == today:
            elapsed = now_local.hour * 3600 + now_local.minute * 60 + now_local.second - 60
            end = min(end, elapsed)
            start = min(start, max(0, end - 4 * 3600))
        span = max(end - start, k)
        draws = sorted(rng.random() for _ in range(k))
        result += [local_instant(day, start + int(u * (span - k)) + j) for j, u in enumerate(draws)]
        i += k
    return result


def record_sessions(
    world: World,
    dispute,
    lead: Unit,
    rng: random.Random,
    lo: datetime,
    hi: datetime,
    following: str | None,
    outcome: Outcome | None,
) -> int:
    """Mediation sessions between acceptance and the next step (or now), through the workflow's own
    ``session`` action. Returns how many were recorded."""

    user = world.user_of(lead)
    if user is None or workflow.refusal(user, dispute, "session") is not None:
        return 0  # e.g. a 司法调解 case of the court: its sessions are the court's own record
    if following == "closed":
        final = FINAL_SESSION.get(outcome)
        count = rng.choice((1, 1, 2, 2, 3)) if outcome != Outcome.WITHDRAWN else rng.choice((0, 1))
    elif following == "stabilized":
        final, count = STABILIZE_SESSION, rng.choice((1, 2))
    else:  # still in hand
        final, count = None, rng.choice((0, 1, 1, 2))
    if count == 0:
        return 0
    first_day, last_day = local_date(lo), local_date(hi)
    span = (last_day - first_day).days
    days = sorted(first_day + timedelta(days=rng.randint(0, span)) for _ in range(count))
    if final is not None:
        days[-1] = last_day  # the closing (or 稳控) session is on the day of the step
    a, b = party_names(dispute)
    issue = ISSUES.get(dispute.category, "各自的诉求")
    attendees = "、".join(f"{p.role}{p.name}" for p in dispute.parties)
    second = staff_name(lead.code + ":2")
    mediators = user.name if rng.random() < 0.4 or second == user.name else f"{user.name}、{second}"
    place = f"{lead.name}{'调解室' if lead.type == UnitType.COMMITTEE else '接待室'}"
    for n, day in enumerate(days):
        lo = moment(rng, lo, hi, day)
        if final is not None and n == count - 1:
            text = rng.choice(final)
        else:
            text = rng.choice(FIRST_SESSION if n == 0 else MIDDLE_SESSION)
        with clock.frozen(lo):
            data = SessionIn().load(
                {
                    "held_on": local_date(lo).isoformat(),
                    "place": place,
                    "mediators": mediators,
                    "attendees": attendees,
                    "record": text.format(a=a, b=b, issue=issue),
                }
            )
            workflow.perform(user, dispute, "session", data)
    return count


def existing_demo_disputes(world: World) -> int:
    return db.session.scalar(
        select(func.count(Dispute.id)).where(Dispute.node_id.in_(subtree_node_ids(world.district)))
    )


@dataclass
class Draw:
    """One generated case before it is written: where, what, who registered it, its risk and handlers."""

    plan: Plan
    place: Place
    category: str
    template: Template
    source: str
    registering: Unit
    town_center: Unit
    district_center: Unit
    people: int = 0
    risk: RiskLevel = RiskLevel.ORDINARY
    flags: list[str] = field(default_factory=list)
    prominent: bool = False
    lead: Unit | None = None
    co_units: list[Unit] = field(default_factory=list)
    amount: Decimal | None = None
    occurred: date | None = None
    summary: str = ""
    parties: list = field(default_factory=list)


def draw_category(
    world: World, rng: random.Random, place: Place, categories: list[str]
) -> tuple[str, Template]:
    category = weighted(rng, ((c, CATEGORY_WEIGHTS.get(c, 1)) for c in categories))
    if category == "山林土地" and (place.village is None or place.village.level != NodeLevel.VILLAGE):
        category = "邻里" if "邻里" in categories else category
    return category, rng.choice(TEMPLATES.get(category, GENERIC))


def draw_source(rng: random.Random, place: Place, category: str, sources: list[str]) -> str:
    """Where the case was found: most grid cases by the grid worker's sweep, else by the category's hints."""
    if place.node.level == NodeLevel.GRID and rng.random() < 0.7 and "网格员排查" in sources:
        return "网格员排查"
    hints = {s: w for s, w in SOURCE_HINTS.get(category, {}).items() if s in sources}
    pool = {s: 1 for s in sources if s not in ("网格员排查", "法院委派")}
    pool.update({"群众来访": 6} if "群众来访" in sources else {})
    pool.update(hints)
    return weighted(rng, pool.items())


def registering_unit(world: World, rng: random.Random, place: Place, source: str) -> Unit:
    """Who registered the case, by where it came from."""
    town_center = world.units[f"{place.town.code}-ZZ"]
    if source == "网格员排查":
        return world.units.get(f"{place.node.code}-WG", town_center)
    if source == "法院委派":
        return world.units[f"{DISTRICT_CODE}-FY"]
    if source in ("12345热线", "上级交办", "信访转办", "网络/微信"):
        return world.units[f"{DISTRICT_CODE}-ZZ"] if rng.random() < 0.5 else town_center
    if source == "群众来访" and place.village is not None and rng.random() < 0.5:
        return world.units.get(f"{place.village.code}-ZZ", town_center)
    return town_center


def assess_risk(rng: random.Random, c: Draw) -> None:
    """People involved, risk level and flags, and whether that makes the case a 突出问题."""

    group = c.template.group
    c.people = rng.randint(8, 45) if group else rng.randint(2, 3)
    if c.category == "涉众型经济":
        c.people = rng.randint(30, 160)
    c.risk = rng.choices(list(RiskLevel), weights=(84, 11, 4, 1))[0]
    if group:
        c.flags.append(RiskFlag.GROUP.value)
        if c.risk == RiskLevel.ORDINARY and rng.random() < 0.6:
            c.risk = RiskLevel.MAJOR
    if c.category == "涉众型经济":
        c.flags.append(RiskFlag.PUBLIC.value)
        c.risk = max(c.risk, RiskLevel.SERIOUS, key=list(RiskLevel).index)
    if c.category == "涉军/退役军人":
        c.flags.append(RiskFlag.MILITARY.value)
    if c.source == "信访转办":
        c.flags.append(RiskFlag.PETITION.value)
    if c.template.hot and rng.random() < 0.35:
        c.flags.append(RiskFlag.CIVIL_TO_CRIMINAL.value)
        c.risk = max(c.risk, RiskLevel.MAJOR, key=list(RiskLevel).index)
    if c.category in ("婚姻家庭", "债务") and rng.random() < 0.03:
        c.flags.append(RiskFlag.EXTREME.value)
    c.prominent = is_prominent(c.risk.value, c.flags)


def choose_lead(world: World, rng: random.Random, c: Draw) -> None:
    """Channel and lead unit (属事), and co-handlers (联办) for the serious ones."""
    if c.source == "法院委派":
        c.lead = (
            world.units[f"{DISTRICT_CODE}-SD"] if rng.random() < 0.75 else world.units[f"{DISTRICT_CODE}-FY"]
        )
    elif c.risk in (RiskLevel.SERIOUS, RiskLevel.EXTREME) and rng.random() < 0.5:
        c.lead = world.units[f"{DISTRICT_CODE}-TC"]
        c.co_units = [world.units[f"{c.place.town.code}-TW"], world.units[f"{c.place.town.code}-PCS"]]
    else:
        c.lead = world.committee(c.place, weighted(rng, HANDLERS.get(c.category, (("town", 1),))))
        if (
            c.lead.node_id == world.district.id
            and c.lead.type == UnitType.ADMINISTRATIVE
            and rng.random() < 0.4
        ):
            c.co_units = [world.units[f"{c.place.town.code}-TW"]]  # 属地 and 属事 together


def draw_respondent(
    rng: random.Random, template: Template, applicant: str
) -> tuple[str, str, PartyKind, str]:
    """The respondent's name, sex (persons), party kind and USCC prefix (organisations)."""
    if template.respondent != "person":
        pattern, kind, prefix = COMPANIES[template.respondent]
        return pattern.format(f=rng.choice(FIRMS)), "?", kind, prefix
    respondent, sex = person_name(rng, template.sexes[1])
    while respondent[1:] == applicant[1:]:
        respondent, sex = person_name(rng, template.sexes[1])
    if template.kin:
        respondent = applicant[0] + respondent[1:]
    return respondent, sex, PartyKind.PERSON, ""


def draw_amount(rng: random.Random, c: Draw) -> Decimal | None:
    if "{amount}" not in c.template.text or not AMOUNTS.get(c.category, (1000, 20000)):
        return None
    low, high = AMOUNTS.get(c.category, (1000, 20000))
    step = 100 if high > 20000 else 10
    return Decimal(rng.randrange(low, high, step)).quantize(Decimal("0.01"))


def landline(rng: random.Random) -> str:
    return f"022-{rng.randint(2, 8)}{rng.randint(0, 9_999_999):07d}"


def second_party(
    rng: random.Random, c: Draw, village: Node, today: date, respondent, r_sex, r_kind, r_prefix
):
    if r_kind == PartyKind.PERSON:
        return Party(
            position=1,
            role=PartyRole.RESPONDENT,
            kind=r_kind,
            name=respondent,
            id_number=id_number(rng, today, r_sex, c.template.born[1]) if rng.random() < 0.8 else None,
            phone=mobile(rng) if rng.random() < 0.9 else None,
            address=address(rng, village, c.place.town),
        )
    return Party(
        position=1,
        role=PartyRole.RESPONDENT,
        kind=r_kind,
        name=respondent,
        id_number=uscc(rng, r_prefix),
        phone=landline(rng),
        address=f"天津市海滨区{c.place.town.name}{rng.choice(ROADS)[:4]}{rng.randint(1, 300)}号",
    )


def third_party(rng: random.Random, c: Draw, village: Node, today: date):
    if c.category == "道路交通事故":
        return Party(
            position=2,
            role=PartyRole.THIRD,
            kind=PartyKind.LEGAL,
            name=COMPANIES["insurer"][0].format(f=rng.choice(("人民", "太平洋", "平安", "大地"))),
            id_number=uscc(rng, "91"),
            phone=landline(rng),
        )
    role = PartyRole.APPLICANT if c.template.group else PartyRole.THIRD
    name, sex = person_name(rng)
    return Party(
        position=2,
        role=role,
        kind=PartyKind.PERSON,
        name=name,
        id_number=id_number(rng, today, sex),
        phone=mobile(rng),
        address=address(rng, village, c.place.town),
    )


def draw_story(world: World, rng: random.Random, c: Draw, today: date) -> None:
    """Text, money, parties."""

    village = c.place.village or rng.choice(world.villages[c.place.town.id])
    applicant, a_sex = person_name(rng, c.template.sexes[0])
    respondent, r_sex, r_kind, r_prefix = draw_respondent(rng, c.template, applicant)
    c.amount = draw_amount(rng, c)
    c.occurred = c.plan.registered_on - timedelta(days=rng.choice((0, 0, 1, 2, 3, 5, 7, 12, 20, 30)))
    c.summary = c.template.text.format(
        a=applicant,
        b=respondent,
        n=c.people,
        place=village.name,
        road=rng.choice(ROADS),
        amount=amount_text(c.amount) if c.amount is not None else "",
        category=c.category,
    )
    if rng.random() < 0.3:
        c.summary = f"{c.occurred.month}月{c.occurred.day}日，{c.summary}"
    c.parties = [
        Party(
            position=0,
            role=PartyRole.APPLICANT,
            kind=PartyKind.PERSON,
            name=applicant,
            id_number=id_number(rng, today, a_sex, c.template.born[0]),
            phone=mobile(rng),
            address=address(rng, village, c.place.town),
        )
    ]
    shape = rng.random()
    if shape >= 0.08:
        c.parties.append(second_party(rng, c, village, today, respondent, r_sex, r_kind, r_prefix))
    if shape >= 0.85:
        c.parties.append(third_party(rng, c, village, today))


def draw_case(
    world: World, rng: random.Random, plan: Plan, categories: list[str], sources: list[str], today: date
) -> Draw:
    """Everything about one case that the main random stream decides before its steps."""
    place = world.place(rng)
    category, template = draw_category(world, rng, place, categories)
    source = draw_source(rng, place, category, sources)
    c = Draw(
        plan,
        place,
        category,
        template,
        source,
        registering_unit(world, rng, place, source),
        world.units[f"{place.town.code}-ZZ"],
        world.units[f"{DISTRICT_CODE}-ZZ"],
    )
    assess_risk(rng, c)
    choose_lead(world, rng, c)
    draw_story(world, rng, c, today)
    return c


def new_dispute(world: World, rng: random.Random, c: Draw, times: list[datetime]):
    """The case as registered (待分流), added to the session."""

    registered_by, _ = world.actor(c.registering, rng)
    dispute = Dispute(
        case_no=next_case_no(c.registering, c.plan.registered_on.year),
        category=c.category,
        source=c.source,
        summary=c.summary,
        venue=c.template.venue,
        people_count=c.people,
        amount=c.amount,
        occurred_on=c.occurred,
        risk_level=c.risk,
        flags=c.flags,
        prominent=c.prominent,
        node=c.place.node,
        registering_unit=c.registering,
        registered_by=registered_by,
        registered_at=times[0],
        registered_on=c.plan.registered_on,
        status=Status.PENDING,
    )
    dispute.parties.extend(c.parties)
    db.session.add(dispute)
    return dispute


def record_step(world: World, rng: random.Random, dispute, type_, unit, on, at, note=None, data=None):
    """One timeline event, by the unit's demo user or (without one) its fictional staff member."""

    user, staff = world.actor(unit, rng)
    with clock.frozen(at):  # the other areas' receivers see the step's own time
        e = add_event(dispute, type_, user, note=note, data=data, on=on, at=at)
    if user is None:
        e.by_name, e.unit_id = staff, unit.id
    return e


def router_of(world: World, c: Draw) -> Unit:
    """The 综治中心 that routed the case: the registering one, else the district's or the town's."""
    if c.registering.type == UnitType.CENTER:
        return c.registering
    return c.district_center if c.registering.node_id == world.district.id else c.town_center


def accept(world: World, rng: random.Random, c: Draw, dispute, on: date, at: datetime) -> None:
    dispute.accepted_on = on
    dispute.deadline = deadline_for(c.lead.channel.value, c.category, on)
    handler = world.user_of(c.lead)
    if handler is not None and handler.role == Role.MEDIATOR:
        dispute.handler = handler
    record_step(
        world,
        rng,
        dispute,
        "accepted",
        c.lead,
        on,
        at,
        data={"deadline": dispute.deadline.isoformat() if dispute.deadline else None},
    )


def write_steps(
    world: World,
    rng: random.Random,
    c: Draw,
    dispute,
    times: list[datetime],
    now: datetime,
    today: date,
    stats: Counter,
) -> None:
    """The planned steps with their historical times; the casework between them has its own random
    stream, so the cases themselves stay what they were before it existed."""
    work = random.Random(f"{SEED}:{dispute.case_no}")
    moments = [*times, now]
    plan = c.plan
    for i, ((kind, on), at) in enumerate(zip(plan.steps, times, strict=True)):
        following = plan.steps[i + 1][0] if i + 1 < len(plan.steps) else None
        if kind == "registered":
            record_step(
                world,
                rng,
                dispute,
                "registered",
                c.registering,
                on,
                at,
                data={
                    "case_no": dispute.case_no,
                    "category": c.category,
                    "source": c.source,
                    "node": c.place.node.code,
                    "risk_level": c.risk.value,
                    "parties": len(c.parties),
                },
            )
        elif kind == "routed":
            dispute.status = Status.HANDLING
            dispute.channel, dispute.unit = c.lead.channel, c.lead
            dispute.co_units = list(c.co_units)
            record_step(
                world,
                rng,
                dispute,
                "routed",
                router_of(world, c),
                on,
                at,
                data={
                    "channel": c.lead.channel.value,
                    "unit": c.lead.code,
                    "co_units": [u.code for u in c.co_units],
                },
            )
        elif kind == "accepted":
            accept(world, rng, c, dispute, on, at)
            stats["sessions"] += record_sessions(
                world, dispute, c.lead, work, at, moments[i + 1], following, plan.outcome
            )
        elif kind == "stabilized":
            dispute.status = Status.STABILIZED
            dispute.stabilized_on = on
            record_step(
                world,
                rng,
                dispute,
                "stabilized",
                c.lead,
                on,
                at,
                note="矛盾暂未化解，已落实包案稳控措施，专人跟踪回访。",
            )
            stats["stabilize_visits"] += stabilize_visits(world, dispute, work, at, moments[i + 1], today)
        elif kind in ("closed", "rejected"):
            dispute.status = Status.CLOSED
            dispute.closed_on, dispute.outcome = on, plan.outcome
            record_step(
                world,
                rng,
                dispute,
                kind,
                c.lead,
                on,
                at,
                note=rng.choice(CLOSE_NOTES[plan.outcome]),
                data={"outcome": plan.outcome.value},
            )


def make_plans(rng: random.Random, today: date, count: int) -> tuple[list[Plan], list[date]]:
    dates, pending = registration_dates(rng, today, count)
    plans = [
        Plan(d, Status.PENDING if i >= count - pending else choose_status(rng, (today - d).days))
        for i, d in enumerate(dates)
    ]
    ensure_mix(plans, today)
    return plans, dates


def load_disputes(world: World, count: int) -> tuple[Counter, date, date]:
    rng = random.Random(SEED)
    today, now = local_today(), utcnow()
    categories = list(current_app.config["CATEGORIES"])
    sources = list(current_app.config["SOURCES"])
    stats: Counter = Counter()
    plans, dates = make_plans(rng, today, count)
    civil_to_criminal_done = False
    with db.session.no_autoflush:
        for index, plan in enumerate(plans, start=1):
            c = draw_case(world, rng, plan, categories, sources, today)
            plan_steps(rng, plan, today, c.prominent)
            times = step_times(rng, plan.steps, today, now)
            dispute = new_dispute(world, rng, c, times)
            write_steps(world, rng, c, dispute, times, now, today, stats)
            assert dispute.status == plan.status, (dispute.case_no, dispute.status, plan.status)
            if (
                plan.status == Status.CLOSED
                and plan.outcome == Outcome.FAILURE
                and not civil_to_criminal_done
                and RiskFlag.CIVIL_TO_CRIMINAL.value in c.flags
            ):
                dispute.civil_to_criminal = civil_to_criminal_done = True
            stats[plan.status] += 1
            if plan.status == Status.HANDLING and dispute.deadline and dispute.deadline < today:
                stats["overdue"] += 1
            if index % BATCH == 0:
                db.session.flush()
    db.session.flush()
    return stats, dates[0], dates[-1]


def court_referral(h: History) -> None:
    """A 诉前委派 from the court to 双港镇's 调委会, with the court's case number; accepted, one session."""

    fayuan, unit = h.world.users.get("fayuan"), h.world.units.get(COMMITTEE_FEATURED)
    town = h.world.nodes.get(TOWN_FEATURED)
    mediator = h.user(unit)
    if (
        fayuan is None
        or unit is None
        or town is None
        or mediator is None
        or not h.world.villages.get(town.id)
    ):
        return
    rng = random.Random(f"{SEED}:referral")
    village = rng.choice(h.world.villages[town.id])
    (a, a_sex), (b, b_sex) = person_name(rng, "M"), person_name(rng, "M")
    day = h.today - timedelta(days=6)
    amount = Decimal(rng.randrange(30000, 150000, 1000))
    lent = day - timedelta(days=rng.randint(300, 500))
    payload = {
        "category": "债务",
        "source": "法院委派",
        "risk_level": RiskLevel.ORDINARY.value,
        "node": village.code,
        "summary": (
            f"{b}于{cn_date(lent)}向{a}借款{amount_text(amount)}并出具借条，约定半年内归还，到期后经多次催要未还。"
            f"{a}向海滨区人民法院起诉，法院征得双方同意后诉前委派{unit.name}调解。"
        ),
        "people_count": 2,
        "amount": str(amount),
        "occurred_on": lent.isoformat(),
        "parties": [
            {
                "role": PartyRole.APPLICANT.value,
                "kind": PartyKind.PERSON.value,
                "name": a,
                "id_number": id_number(rng, h.today, a_sex),
                "phone": mobile(rng),
                "address": address(rng, village, town),
            },
            {
                "role": PartyRole.RESPONDENT.value,
                "kind": PartyKind.PERSON.value,
                "name": b,
                "id_number": id_number(rng, h.today, b_sex),
                "phone": mobile(rng),
                "address": address(rng, village, town),
            },
        ],
        "kind": "诉前委派",
        "court_case_no": f"（{day.year}）津0116民诉前调{rng.randint(1000, 4999)}号",
        "unit": unit.code,
        "referred_on": day.isoformat(),
    }
    at = moment(rng, local_instant(day, 0), h.now, day)
    with clock.frozen(at):
        dispute = workflow.refer_case(fayuan, CourtReferralIn().load(payload))
    accepted = day + timedelta(days=1)
    at = moment(rng, at, h.now, accepted)
    with clock.frozen(at):
        workflow.perform(mediator, dispute, "accept", AcceptIn().load({"date": accepted.isoformat()}))
    held = day + timedelta(days=3)
    with clock.frozen(moment(rng, at, h.now, held)):
        workflow.perform(
            mediator,
            dispute,
            "session",
            SessionIn().load(
                {
                    "held_on": held.isoformat(),
                    "place": f"{unit.name}调解室",
                    "mediators": mediator.name,
                    "attendees": f"申请人{a}、被申请人{b}",
                    "record": FIRST_SESSION[0].format(a=a, b=b, issue=ISSUES["债务"]),
                }
            ),
        )
    h.stats["referrals"] += 1


def police_notification(h: History) -> None:
    """民转刑预警 (人民调解法第25条): on the latest open case flagged 民转刑风险 (or, without one, a heated
    neighbourhood or family case, which the warning then flags), the police were told."""

    cases = db.session.scalars(
        select(Dispute)
        .where(
            Dispute.status.in_([Status.HANDLING, Status.STABILIZED]),
            Dispute.accepted_on.is_not(None),
            Dispute.unit_id.is_not(None),
            Dispute.node_id.in_([n.id for n in h.world.nodes.values()]),
        )
        .order_by(Dispute.registered_on.desc(), Dispute.id.desc())
    ).all()
    flagged = [d for d in cases if RiskFlag.CIVIL_TO_CRIMINAL.value in (d.flags or [])]
    heated = [d for d in cases if d.category in ("邻里", "婚姻家庭", "损害赔偿", "债务")]
    for d in flagged + heated:
        user = h.user(d.unit)
        if user is None or workflow.refusal(user, d, "notify_police") is not None:
            continue
        rng = random.Random(f"{SEED}:police:{d.case_no}")
        parts = d.node.path.strip("/").split("/")
        town = h.world.by_id.get(int(parts[1])) if len(parts) > 1 else None
        police = h.world.units.get(f"{town.code}-PCS") if town else None
        last = max(e.at for e in d.events)
        at = moment(
            rng, last, h.now - timedelta(minutes=30), min(local_date(last) + timedelta(days=1), h.today)
        )
        with clock.frozen(at + timedelta(minutes=20)):
            workflow.perform(
                user,
                d,
                "notify_police",
                PoliceNotificationIn().load(
                    {
                        "notified_at": to_local(at).replace(tzinfo=None).isoformat(timespec="minutes"),
                        "police_unit": police.name if police else "属地派出所",
                        "officer": staff_name(f"{d.case_no}:police"),
                        "note": "当事人情绪激动，有言语威胁，存在民转刑风险。已电话告知属地派出所，民警到场开展法治教育，"
                        "双方均表示不采取过激行为。",
                    }
                ),
            )
        h.stats["police"] += 1
        return
