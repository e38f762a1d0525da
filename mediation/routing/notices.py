"""The override table of the working-day calendar: the State Council's holiday notices as the admin
enters them (web page under /admin/routing/calendar, ``flask --app mediation calendar import``).

A notice's days are written as lines of text, one day or one run of days per line::

    2027-02-05 至 2027-02-13 放假 春节
    2027-02-14 上班 春节

``放假`` (also 休息/休) days need the holiday's name; ``上班`` (also 补班/调休上班) days are the 调休
make-up working days and must be Saturdays or Sundays. Blank lines and lines starting with ``#`` are
ignored. One parser and one schema serve the web form and the command line.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from marshmallow import ValidationError, fields, post_load, validates_schema
from sqlalchemy import select, update

from mediation.common import schema as s
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.routing.calendar import forget_overrides
from mediation.routing.models import CalendarDay, CalendarNotice, CalendarState

OFF_WORDS = {"放假", "休息", "休", "假"}
ON_WORDS = {"上班", "补班", "调休上班", "班"}
RANGE_WORDS = {"至", "到", "~", "～", "—", "--"}
MAX_RUN = 31
NAME_MAX = 40
WEEKDAYS = "一二三四五六日"
LINE_FORMAT = (
    "格式应为“日期 放假 节日名称”“日期 至 日期 放假 节日名称”或“日期 上班 节日名称”，日期写作 YYYY-MM-DD"
)

FIELD_LABELS = {
    "year": "年度",
    "title": "通知名称",
    "document_no": "文号",
    "annual": "全年安排",
    "days": "放假与调休安排",
}


@dataclass(frozen=True)
class Entry:
    day: date
    working: bool
    name: str | None
    line: int


def _parse_date(text: str) -> date | None:
    text = text.replace("/", "-").replace(".", "-")
    if not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        return None
    y, m, d = (int(x) for x in text.split("-"))
    try:
        return date(y, m, d)
    except ValueError:
        return None


def weekday_label(day: date) -> str:
    return "星期" + WEEKDAYS[day.weekday()]


def window(year: int) -> tuple[date, date]:
    """The days a notice of ``year`` may list: its year, and December before it (make-up days of 元旦)."""
    return date(year - 1, 12, 1), date(year, 12, 31)


@dataclass(frozen=True)
class _Run:
    """One line of the text: a day or a run of days, off or working."""

    start: date
    end: date
    working: bool
    name: str | None


def _parse_line(where: str, line: str) -> _Run | str:
    """The run of days one line states, or the line's error."""
    tokens = line.replace("，", " ").replace(",", " ").split()
    if len(tokens) >= 3 and tokens[1] in RANGE_WORDS:
        first, last, rest = tokens[0], tokens[2], tokens[3:]
    else:
        first, last, rest = tokens[0], None, tokens[1:]
    start = _parse_date(first)
    end = _parse_date(last) if last is not None else start
    if start is None or end is None:
        bad = first if start is None else last
        return f"{where}：日期「{bad}」无效，应写作 YYYY-MM-DD（如 2027-02-05）。"
    if not rest or rest[0] not in OFF_WORDS | ON_WORDS:
        return f"{where}：{LINE_FORMAT}。"
    working = rest[0] in ON_WORDS
    name = " ".join(rest[1:]) or None
    if end < start:
        return f"{where}：结束日期 {end} 早于开始日期 {start}。"
    if (end - start).days >= MAX_RUN:
        return f"{where}：一段日期不能超过{MAX_RUN}天。"
    if not working and not name:
        return f"{where}：请写明放假的节日名称，如“{first} 放假 春节”。"
    if name and len(name) > NAME_MAX:
        return f"{where}：节日名称不能超过{NAME_MAX}个字符。"
    return _Run(start, end, working, name)


def _day_error(where: str, day: date, working: bool, year: int | None, seen: dict[date, int]) -> str | None:
    """What is wrong with one day of a run: outside the notice's year, a 上班 day that is a weekday
    anyway, or a day already listed on an earlier line."""
    if year is not None:
        low, high = window(year)
        if not low <= day <= high:
            return f"{where}：{day} 不在{year}年的安排范围内（{low.isoformat()} 至 {high.isoformat()}）。"
    if working and day.weekday() < 5:
        return f"{where}：{day}（{weekday_label(day)}）本来就是工作日；调休上班日应为星期六或星期日。"
    if day in seen:
        return f"{where}：{day} 与第{seen[day]}行重复。"
    return None


def parse_days(text: str, year: int | None = None) -> tuple[list[Entry], list[str]]:
    """The entries of the text and the errors ("第N行：…"), each line checked on its own."""
    entries: list[Entry] = []
    errors: list[str] = []
    seen: dict[date, int] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"第{number}行"
        run = _parse_line(where, line)
        if isinstance(run, str):
            errors.append(run)
            continue
        day = run.start
        while day <= run.end:
            if problem := _day_error(where, day, run.working, year, seen):
                errors.append(problem)  # the days of the run before it stay entered
                break
            seen[day] = number
            entries.append(Entry(day, run.working, run.name, number))
            day += timedelta(days=1)
    if not entries and not errors:
        errors.append("请至少填写一天的放假或调休上班安排。")
    return entries, errors


def format_days(days) -> str:
    """The days of a notice (rows with day/working/name) as text lines, runs of days off joined."""
    lines: list[str] = []
    rows = sorted(days, key=lambda r: r.day)
    i = 0
    while i < len(rows):
        row = rows[i]
        j = i
        if not row.working:
            while (
                j + 1 < len(rows)
                and not rows[j + 1].working
                and rows[j + 1].name == row.name
                and rows[j + 1].day == rows[j].day + timedelta(days=1)
            ):
                j += 1
        word = "上班" if row.working else "放假"
        span = row.day.isoformat() if j == i else f"{row.day.isoformat()} 至 {rows[j].day.isoformat()}"
        lines.append(" ".join(x for x in (span, word, row.name) if x))
        i = j + 1
    return "\n".join(lines)


class CalendarNoticeIn(s.InputSchema):
    """A notice as entered: its year, title, document number, whether it is the year's whole
    arrangement, and its days as text lines (see the module doc)."""

    year = s.Integer(
        required=True, validate=fields.validate.Range(min=2000, max=2099, error="年度应在2000到2099之间。")
    )
    title = s.String(required=True, validate=s.length(200, 4))
    document_no = s.String(load_default=None, allow_none=True, validate=s.length(64))
    annual = s.Boolean(load_default=False)
    days = s.Text(required=True, validate=s.length(20000))

    @validates_schema(skip_on_field_errors=False)
    def _check_days(self, data, **kwargs):
        """Every line is checked even when another field is wrong (all errors at once)."""
        if isinstance(data.get("days"), str):
            _, errors = parse_days(data["days"], data.get("year"))
            if errors:
                raise ValidationError({"days": errors})

    @post_load
    def _parse(self, data, **kwargs):
        data["entries"] = parse_days(data["days"], data["year"])[0]
        return data


# --- writing -------------------------------------------------------------------------------------------


def _touch_state() -> None:
    """Replace the token, so every process reloads the table with its next transaction."""
    # Inside the function: followups imports routing at its top, so a top-level import here would make
    # the two packages import each other.
    from mediation.followups.service import insert_ignore  # cycle: followups imports routing at its top

    token = uuid.uuid4().hex
    if insert_ignore(CalendarState, {"id": 1, "token": token, "changed_at": utcnow()}, ["id"]) is None:
        db.session.execute(
            update(CalendarState)
            .where(CalendarState.id == 1)
            .values(token=token, changed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    forget_overrides()


def save_notice(data: dict, user=None, notice_id: int | None = None):
    """Create (or, with ``notice_id``, replace) a notice from validated :class:`CalendarNoticeIn` data.
    Raises ValidationError for a date another notice already has or a second annual notice of a year.
    Caller commits. Returns the notice, or None when ``notice_id`` does not exist."""
    notice = None
    if notice_id is not None:
        notice = db.session.get(CalendarNotice, notice_id)
        if notice is None:
            return None
    entries: list[Entry] = data["entries"]
    errors: dict[str, list[str]] = {}
    if data.get("annual"):
        other = db.session.scalar(select(CalendarNotice).where(CalendarNotice.annual_year == data["year"]))
        if other is not None and other is not notice:
            errors["annual"] = [
                f"{data['year']}年的全年安排已登记为《{other.title}》，请修改那份通知，"
                "或将本通知登记为补充通知。"
            ]
    taken = db.session.execute(
        select(CalendarDay.day, CalendarNotice.title)
        .join(CalendarNotice)
        .where(
            CalendarDay.day.in_([e.day for e in entries]),
            CalendarNotice.id != (notice.id if notice is not None else -1),
        )
    ).all()
    if taken:
        by_day = dict(taken)
        errors["days"] = [
            f"第{e.line}行：{e.day} 已登记在《{by_day[e.day]}》中。" for e in entries if e.day in by_day
        ]
    if errors:
        raise ValidationError(errors)
    if notice is None:
        notice = CalendarNotice(created_by_id=getattr(user, "id", None), created_at=utcnow())
        db.session.add(notice)
    else:
        notice.days.clear()
        db.session.flush()  # the old days go before the new ones come (a date is unique)
    notice.year = data["year"]
    notice.annual_year = data["year"] if data.get("annual") else None
    notice.title = data["title"]
    notice.document_no = data.get("document_no")
    notice.updated_at = utcnow()
    notice.days = [CalendarDay(day=e.day, working=e.working, name=e.name) for e in entries]
    db.session.flush()
    _touch_state()
    return notice


def delete_notice(notice_id: int) -> bool:
    notice = db.session.get(CalendarNotice, notice_id)
    if notice is None:
        return False
    db.session.delete(notice)
    db.session.flush()
    _touch_state()
    return True


def list_notices():
    return db.session.scalars(
        select(CalendarNotice).order_by(CalendarNotice.year.desc(), CalendarNotice.id)
    ).all()
