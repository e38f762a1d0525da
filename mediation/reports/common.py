"""What every report shares: the period (:class:`Month`, or an ISO :class:`Week` for 周报), rates, the
refusal (:class:`ReportError`) and the node a report is about (the user's subtree only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from mediation.accounts.access import can_see_node, is_admin, node_scope
from mediation.accounts.models import User
from mediation.common.enums import NodeLevel
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.geo.service import preorder


class ReportError(Exception):
    """A refusal with a Chinese message (and, for the month close, the cases concerned)."""

    def __init__(
        self, message: str, cases: list[dict] | None = None, status: int = 409, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.cases, self.status, self.field = message, cases or [], status, field


# ------------------------------------------------------------------------------------------ months

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match((text or "").strip())
        if not match or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 2999:
            raise ValueError("月份格式应为 YYYY-MM，例如 2026-10。")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.shift(1).first - timedelta(days=1)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @staticmethod
    def words(text: str) -> str:
        return text

    def __str__(self) -> str:
        return self.key


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# A week's figures are the month's, with these words: 本周新增, 上周结转, 结转下周, 周末稳控.
_WEEK_WORDS = (("本月", "本周"), ("上月", "上周"), ("下月", "下周"), ("月末", "周末"), ("月份", "周次"))


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (Monday to Sunday, Shanghai calendar dates): 2026-W48 is 23 to 29 November 2026.
    Week 1 is the week holding the year's first Thursday, so its Monday may lie in December, and a
    year has 53 weeks when it begins on a Thursday (or on a Wednesday in a leap year)."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> Week:
        match = _WEEK.match((text or "").strip().upper())
        if not match or not 1900 <= int(match[1]) <= 2999 or not 1 <= int(match[2]) <= 53:
            raise ValueError("周次格式应为 YYYY-Www（ISO周），例如 2026-W48。")
        year, week = int(match[1]), int(match[2])
        if week > cls.weeks_in(year):
            raise ValueError(f"{year}年只有{cls.weeks_in(year)}周（ISO周）。")
        return cls(year, week)

    @staticmethod
    def weeks_in(year: int) -> int:
        return date(year, 12, 28).isocalendar().week

    @classmethod
    def of(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def first(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=6)

    def shift(self, weeks: int) -> Week:
        return Week.of(self.first + timedelta(weeks=weeks))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.week}周"

    @property
    def span(self) -> str:
        """「11月23日—11月29日」 (with the years when the week spans two)."""
        a, b = self.first, self.last
        if a.year != b.year:
            return f"{a.year}年{a.month}月{a.day}日—{b.year}年{b.month}月{b.day}日"
        return f"{a.month}月{a.day}日—{b.month}月{b.day}日"

    @staticmethod
    def words(text: str) -> str:
        for old, new in _WEEK_WORDS:
            text = text.replace(old, new)
        return text

    def __str__(self) -> str:
        return self.key


# A quarter's or a year's figures are the month's, with these words (考核: 本期受理, 期末超期).
_TERM_WORDS = (("本月", "本期"), ("上月", "上期"), ("下月", "下期"), ("月末", "期末"), ("月份", "期间"))
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter (2026-Q4: 1 October to 31 December 2026), for the scorecard (考核)."""

    year: int
    quarter: int

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def last(self) -> date:
        return Month(self.year, 3 * self.quarter).last

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.quarter - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-Q{self.quarter}"

    @property
    def label(self) -> str:
        return f"{self.year}年第{'一二三四'[self.quarter - 1]}季度"

    @staticmethod
    def words(text: str) -> str:
        for old, new in _TERM_WORDS:
            text = text.replace(old, new)
        return text

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, order=True)
class Year:
    """A calendar year (2026: 1 January to 31 December), for the scorecard (考核)."""

    year: int

    @property
    def first(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last(self) -> date:
        return date(self.year, 12, 31)

    def shift(self, years: int) -> Year:
        return Year(self.year + years)

    @property
    def key(self) -> str:
        return f"{self.year:04d}"

    @property
    def label(self) -> str:
        return f"{self.year}年"

    words = Quarter.words

    def __str__(self) -> str:
        return self.key


# The period of the 月清月结 figures: a calendar month, or an ISO week (周报); the scorecard (考核)
# also takes a quarter or a year. All have ``first``, ``last``, ``key``, ``label``, ``shift`` and
# ``words`` (a month's label in the period's words).
Period = Month | Week | Quarter | Year

PERIOD_FORMAT = "考核期间格式应为 YYYY-MM（月）、YYYY-Qn（季度）或 YYYY（年），例如 2026-11、2026-Q4、2026。"


def parse_term(text: str) -> Month | Quarter | Year:
    """A scorecard period: ``2026-11`` (a month), ``2026-Q4`` (a quarter) or ``2026`` (a year);
    ValueError (Chinese) when malformed."""
    text = (text or "").strip().upper()
    if match := _QUARTER.match(text):
        year = int(match[1])
        if 1900 <= year <= 2999:
            return Quarter(year, int(match[2]))
    elif match := _YEAR.match(text):
        if 1900 <= int(match[1]) <= 2999:
            return Year(int(match[1]))
    elif _MONTH.match(text):
        try:
            return Month.parse(text)
        except ValueError:
            pass
    raise ValueError(PERIOD_FORMAT)


def parse_period(
    month: str | None = None, week: str | None = None, period: str | None = None
) -> Period | None:
    """The period a request names (``month=YYYY-MM``, ``week=YYYY-Www`` or, from the scorecard,
    ``period=YYYY-MM|YYYY-Qn|YYYY``), None when none; ValueError (Chinese) when malformed."""
    if period:
        return parse_term(period)
    if week:
        return Week.parse(week)
    if month:
        return Month.parse(month)
    return None


def rate(numerator: int, denominator: int) -> float | None:
    """A rate between 0 and 1 with at most 4 decimals; None when the denominator is 0."""
    return None if not denominator else round(numerator / denominator, 4)


# ----------------------------------------------------------------------------- the report's node


def resolve_report_node(user: User, code: str | None) -> Node:
    """The node of a report request: 422 unknown, 403 outside the user's subtree."""
    if not code:
        raise ReportError("请指定节点代码。", status=422)
    node = db.session.scalar(select(Node).where(Node.code == code.strip()))
    if node is None:
        raise ReportError(f"未知的节点代码「{code}」。", status=422)
    if not can_see_node(user, node):
        raise ReportError("该节点不在您单位的辖区内，无权查看其报表。", status=403)
    return node


def scope_tree(user: User) -> list[tuple[Node, int]]:
    """Nodes the user may report on, pre-order with depth (grids left out: they are many)."""
    nodes = db.session.scalars(select(Node).where(node_scope(user), Node.level != NodeLevel.GRID)).all()
    if not is_admin(user) and user.unit.node.level == NodeLevel.GRID:
        nodes = [user.unit.node]
    return preorder(nodes)


def default_node(user: User) -> Node:
    if is_admin(user):
        root = db.session.scalars(select(Node).where(Node.parent_id.is_(None)).order_by(Node.code)).first()
        return root or user.unit.node
    return user.unit.node


def node_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Node.id, Node.name).where(Node.id.in_(ids))).all())
