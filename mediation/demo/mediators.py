"""The demo's mediators: two or three for every 人民调解委员会, trainings (about a third not trained
this year), and the demo cases of each committee linked to its mediators (承办调解员)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from mediation.common.enums import Status, UnitType
from mediation.demo.base import SEED
from mediation.demo.small import zh_number
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Unit
from mediation.mediators.models import Background, Employment, Mediator, Training

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
TOPICS = ("人民调解实务", "婚姻家庭纠纷调解技巧", "民法典与邻里纠纷", "矛盾纠纷排查与风险研判")


def load_mediators(today: date) -> tuple[int, int, int]:
    """(mediators, trainings, cases linked). Names carry no digits: 调解员 + the number in Chinese
    digits (mediation.demo.small.zh_number)."""
    rng = random.Random(f"{SEED}-mediators")
    units = list(db.session.scalars(select(Unit).where(Unit.type == UnitType.COMMITTEE).order_by(Unit.code)))
    backgrounds = list(Background)
    made = trainings = linked = 0
    for unit in units:
        people = []
        for _ in range(2 + rng.randrange(2)):
            made += 1
            m = Mediator(
                name=f"{SURNAMES[made % len(SURNAMES)]}调解员{zh_number(made)}",
                units=[unit],
                employment=Employment.FULL_TIME if rng.random() < 0.4 else Employment.PART_TIME,
                background=rng.choice(backgrounds),
                qualifications="人民调解员证",
                phone=f"139{rng.randrange(10**8):08d}",
            )
            db.session.add(m)
            people.append(m)
            years = [today.year - 1] if made % 3 == 0 else [today.year - 1, today.year]
            for year in years:
                day = date(year, 3, 1) if year < today.year else date(year, 1, 5)
                m.trainings.append(
                    Training(
                        held_on=min(day, today),
                        hours=Decimal("4.0"),
                        topic=rng.choice(TOPICS),
                        organiser="区司法局",
                    )
                )
                trainings += 1
        cases = db.session.scalars(
            select(Dispute)
            .where(Dispute.unit_id == unit.id, Dispute.status != Status.PENDING)
            .order_by(Dispute.id)
        )
        for d in cases:
            d.mediators = [people[d.id % len(people)]]
            linked += 1
    db.session.flush()
    return made, trainings, linked
