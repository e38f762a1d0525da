"""The parties' own rating of the handling (mediation/followups/ratings.py): who may rate (closed or
visited, a party of the case, not yet rated), one rating per party and case (a double submit returns
the stored rating, a second different one is refused), the score and comment checked field by field,
and the form partial (the form, or the thanks with the score once rated)."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import render_template, render_template_string
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mediation import clock
from mediation.common.enums import Status
from mediation.extensions import db
from mediation.followups import ratings
from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus, PartyRating
from tests.test_followups_support import make_case


def closed_case(world):
    d = make_case(world)
    d.status = Status.CLOSED
    d.closed_on = clock.today()
    d.outcome = "调解成功"
    db.session.commit()
    return d


def count_ratings() -> int:
    return db.session.scalar(select(func.count()).select_from(PartyRating))


def errors_of(excinfo) -> dict:
    return excinfo.value.normalized_messages()


def test_may_rate_only_after_closing_or_a_done_visit(world):
    d = make_case(world)
    party = d.parties[0]
    assert not ratings.may_rate(d, party)  # 办理中, no 回访
    with pytest.raises(ValidationError) as exc:
        ratings.rate(d, party, 5)
    assert errors_of(exc) == {"score": ["本案办结或回访后才能评价。"]}
    assert count_ratings() == 0

    # An open 回访 is not enough; a done one is.
    fu = FollowUp(
        dispute_id=d.id,
        kind=FollowUpKind.PERFORMANCE,
        anchor_on=clock.today(),
        unit_id=world.committee_a.id,
        due_on=clock.today(),
    )
    db.session.add(fu)
    db.session.commit()
    assert not ratings.may_rate(d, party)
    fu.status = FollowUpStatus.DONE
    db.session.commit()
    assert ratings.may_rate(d, party)

    closed = closed_case(world)
    assert ratings.may_rate(closed, closed.parties[1])


def test_only_a_party_of_the_case_may_rate(world):
    d = closed_case(world)
    other = closed_case(world)
    stranger = other.parties[0]
    assert not ratings.may_rate(d, stranger)
    with pytest.raises(ValidationError) as exc:
        ratings.rate(d, stranger, 4)
    assert errors_of(exc) == {"score": ["您不是本案的当事人，不能评价。"]}
    assert count_ratings() == 0


@pytest.fixture
def frozen():
    clock.set(datetime(2026, 10, 31, 16, 30))  # 2026-11-01 00:30 in Shanghai
    yield
    clock.reset()


def test_one_rating_per_party_and_case(world, frozen):
    d = closed_case(world)
    first, second = d.parties
    rating = ratings.rate(d, first, 4, "  调解员很耐心。\r\n谢谢！ ")
    db.session.commit()
    assert (rating.score, rating.comment) == (4, "调解员很耐心。\n谢谢！")
    assert rating.created_at == datetime(2026, 10, 31, 16, 30)  # stored UTC
    assert ratings.rating_of(d, first) == rating
    assert ratings.rating_of(d, second) is None
    assert not ratings.may_rate(d, first)
    assert ratings.may_rate(d, second)

    # A double submit (same answer) gives back the stored rating, nothing new.
    again = ratings.rate(d, first, "4", "调解员很耐心。\n谢谢！")
    db.session.commit()
    assert again.id == rating.id
    assert count_ratings() == 1

    # A different second rating is refused.
    with pytest.raises(ValidationError) as exc:
        ratings.rate(d, first, 1, "改主意了")
    assert errors_of(exc) == {"score": ["您已评价过本案。"]}
    db.session.rollback()
    assert ratings.rating_of(d, first).score == 4

    # The other party rates on their own.
    ratings.rate(d, second, 2)
    db.session.commit()
    assert [r.score for r in ratings.ratings_of_case(d)] == [4, 2]


def test_the_database_refuses_a_second_row_and_a_score_out_of_range(world):
    d = closed_case(world)
    party = d.parties[0]
    db.session.add(PartyRating(dispute_id=d.id, party_id=party.id, score=5))
    db.session.commit()
    db.session.add(PartyRating(dispute_id=d.id, party_id=party.id, score=5))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(PartyRating(dispute_id=d.id, party_id=d.parties[1].id, score=6))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count_ratings() == 1


def test_a_racing_double_submit_returns_the_row_the_other_request_stored(world, monkeypatch):
    """The unique key decides: a row stored between the check and the insert (another request of
    the same party) is returned when it is the same rating, refused when different."""
    d = closed_case(world)
    party = d.parties[0]
    real_rating_of = ratings.rating_of
    calls = {"n": 0}

    def late_rating_of(dispute, p):
        calls["n"] += 1
        if calls["n"] == 1:  # the first look happens before the other request commits
            return None
        return real_rating_of(dispute, p)

    # The other request's row, committed through a separate connection.
    dispute_id, party_id = d.id, party.id
    db.session.commit()  # end this session's read transaction (SQLite's lock)
    with db.engine.begin() as conn:
        conn.execute(
            PartyRating.__table__.insert().values(
                dispute_id=dispute_id,
                party_id=party_id,
                score=3,
                comment=None,
                created_at=datetime(2026, 1, 1),
            )
        )
    monkeypatch.setattr(ratings, "rating_of", late_rating_of)
    assert ratings.rate(d, party, 3).score == 3
    calls["n"] = 0
    with pytest.raises(ValidationError) as exc:
        ratings.rate(d, party, 5)
    assert errors_of(exc) == {"score": ["您已评价过本案。"]}
    db.session.rollback()
    assert count_ratings() == 1


@pytest.mark.parametrize(
    ("score", "comment", "errors"),
    [
        (None, None, {"score": ["请选择1至5分的评分。"]}),
        (0, None, {"score": ["请选择1至5分的评分。"]}),
        (6, None, {"score": ["请选择1至5分的评分。"]}),
        ("5分", None, {"score": ["请选择1至5分的评分。"]}),
        (True, None, {"score": ["请选择1至5分的评分。"]}),
        (3, "好" * 501, {"comment": ["评价内容最多500字（现有501字）。"]}),
        (3, "好\x00", {"comment": ["第2个字符（U+0000）是不允许的控制字符或非字符码位，请删除后重新填写。"]}),
        (
            "",
            "\ufffe",
            {
                "score": ["请选择1至5分的评分。"],
                "comment": ["第1个字符（U+FFFE）是不允许的控制字符或非字符码位，请删除后重新填写。"],
            },
        ),
    ],
)
def test_bad_input_is_named_field_by_field_and_nothing_is_stored(world, score, comment, errors):
    d = closed_case(world)
    with pytest.raises(ValidationError) as exc:
        ratings.rate(d, d.parties[0], score, comment)
    assert errors_of(exc) == errors
    assert count_ratings() == 0


def test_a_comment_of_500_characters_and_a_blank_comment(world):
    d = closed_case(world)
    assert len(ratings.rate(d, d.parties[0], 5, "好" * 500).comment) == 500
    assert ratings.rate(d, d.parties[1], 5, "   \n ").comment is None
    db.session.commit()
    assert count_ratings() == 2


def _render(app, **context):
    with app.test_request_context("/c/X"):
        return render_template(
            "followups/_party_rating.html", action_url="/c/X/rate", csrf_token=lambda: "TOKEN", **context
        )


def test_the_partial_shows_the_form_then_the_thanks(app, world):
    d = closed_case(world)
    party = d.parties[0]
    html = _render(app, errors={}, **ratings.rating_context(d, party))
    assert 'action="/c/X/rate"' in html and 'value="TOKEN"' in html
    assert html.count('type="radio" name="score"') == 5
    assert 'name="comment"' in html and 'maxlength="500"' in html

    html = _render(
        app,
        errors={"score": ["请选择1至5分的评分。"], "comment": ["评价内容最多500字（现有501字）。"]},
        form={"score": "", "comment": "<b>x</b>"},
        **ratings.rating_context(d, party),
    )
    assert "请选择1至5分的评分。" in html and "评价内容最多500字" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html

    ratings.rate(d, party, 4, "<script>x</script>")
    db.session.commit()
    html = _render(app, errors={}, **ratings.rating_context(d, party))
    assert "感谢您的评价" in html and "4分" in html and "满意" in html
    assert 'type="radio"' not in html
    assert "&lt;script&gt;" in html and "<script>x" not in html

    open_case = make_case(world)
    html = _render(app, **ratings.rating_context(open_case, open_case.parties[0]))
    assert 'type="radio"' not in html and "办结或回访后" in html
    assert render_template_string("ok")  # the app renders in this context
