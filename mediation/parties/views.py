"""The parties' pages under /c/: prove who you are with an SMS code, then follow your case.

Every page here is public (no staff sign-in); the case pages need a party session of that case
(:func:`mediation.parties.service.may_open_case`), else they send the visitor back to the door."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from marshmallow import ValidationError

from mediation.accounts.views import client_address
from mediation.common.codes import normalize_code
from mediation.disputes.case_code import find_by_case_code
from mediation.documents import service as documents
from mediation.documents.views import pdf_response
from mediation.extensions import db
from mediation.followups import ratings
from mediation.parties import service, sessions

bp = Blueprint("parties", __name__, url_prefix="/c")


def _door(
    case_code: str, *, step: str = "phone", phone: str = "", error: str = "", notice: str = "", status=200
):
    return (
        render_template(
            "parties/door.html", case_code=case_code, step=step, phone=phone, error=error, notice=notice
        ),
        status,
    )


def _bound(case_code: str):
    """(party session, case) when the request's party session is of this case, else None."""
    dispute = find_by_case_code(case_code)
    row = sessions.current()
    if not service.may_open_case(row, dispute):
        return None
    sessions.touch(row)
    db.session.commit()
    return row, dispute


def _back_to_door(case_code: str):
    return redirect(url_for("parties.door", case_code=case_code), 303)


@bp.get("/")
def enter():
    """Type the case code (printed on the 受理通知书, or in the SMS)."""
    typed = (request.args.get("code") or "").strip()
    if typed:
        return redirect(url_for("parties.door", case_code=normalize_code(typed)[:32] or "-"), 303)
    return render_template("parties/enter.html")


@bp.route("/<case_code>", methods=["GET", "POST"])
def door(case_code: str):
    """Step 1: the phone number. The same answer for every case code and phone (see service)."""
    if request.method == "GET":
        if _bound(case_code) is not None:
            return redirect(url_for("parties.case", case_code=case_code), 303)
        return _door(case_code)
    phone = (request.form.get("phone") or "").strip()[:32]
    error = service.request_code(find_by_case_code(case_code), phone, client_address())
    db.session.commit()
    if error:
        return _door(case_code, phone=phone, error=error, status=429 if "频繁" in error else 422)
    return _door(case_code, step="code", phone=phone, notice=service.CODE_SENT)


@bp.post("/<case_code>/verify")
def verify(case_code: str):
    """Step 2: the code. Right → a party session of this case; wrong → counted, the same answer."""
    phone = (request.form.get("phone") or "").strip()[:32]
    code = (request.form.get("code") or "").strip()[:16]
    address = client_address()
    if error := service.check_limit_error(address):
        return _door(case_code, step="code", phone=phone, error=error, status=429)
    dispute = find_by_case_code(case_code)
    party = service.verify(dispute, phone, code, address)
    if party is None:
        db.session.commit()  # the try counts
        return _door(case_code, step="code", phone=phone, error=service.WRONG_CODE, status=422)
    key = sessions.start(dispute, party)
    db.session.commit()
    response = redirect(url_for("parties.case", case_code=dispute.case_code), 303)
    sessions.set_cookie(response, key)
    return response


@bp.get("/<case_code>/case")
def case(case_code: str):
    bound = _bound(case_code)
    if bound is None:
        return _back_to_door(case_code)
    row, dispute = bound
    return _case_page(dispute, row.party)


def _case_page(dispute, party, *, errors=None, form=None, status=200):
    return (
        render_template(
            "parties/case.html",
            view=service.case_view(dispute, party),
            dispute=dispute,
            action_url=url_for("parties.rating", case_code=dispute.case_code),
            errors=errors or {},
            form=form or {},
            **ratings.rating_context(dispute, party),
        ),
        status,
    )


@bp.post("/<case_code>/rating")
def rating(case_code: str):
    """The party rates the handling (1–5, a comment): once, after closing or a 回访 (followups.ratings)."""
    bound = _bound(case_code)
    if bound is None:
        return _back_to_door(case_code)
    row, dispute = bound
    form = {"score": request.form.get("score", ""), "comment": request.form.get("comment", "")}
    try:
        ratings.rate(dispute, row.party, form["score"], form["comment"])
    except ValidationError as err:
        db.session.rollback()
        return _case_page(dispute, row.party, errors=err.messages, form=form, status=422)
    db.session.commit()
    flash("感谢您的评价！", "success")
    return redirect(url_for("parties.case", case_code=dispute.case_code) + "#rating", 303)


def _form_pdf(case_code: str, kind: str):
    bound = _bound(case_code)
    if bound is None:
        return _back_to_door(case_code)
    dispute = bound[1]
    if not service.may_download_form(dispute, kind):
        abort(404)
    pdf = documents.render_form_pdf(dispute, kind)
    return pdf_response(pdf, f"{service.PARTY_FORMS[kind]}{dispute.case_no}.pdf", download=True)


@bp.get("/<case_code>/acceptance.pdf")
def acceptance_pdf(case_code: str):
    return _form_pdf(case_code, "acceptance")


@bp.get("/<case_code>/rejection.pdf")
def rejection_pdf(case_code: str):
    return _form_pdf(case_code, "rejection")


@bp.get("/<case_code>/agreements/<int:agreement_id>.pdf")
def agreement_pdf(case_code: str, agreement_id: int):
    bound = _bound(case_code)
    if bound is None:
        return _back_to_door(case_code)
    agreement = service.party_agreement(bound[1], agreement_id)
    if agreement is None:
        abort(404)
    doc = documents.signed_agreement(agreement)
    return pdf_response(doc.pdf, f"{agreement.title}{agreement.number}.pdf", download=True)


@bp.post("/<case_code>/logout")
def logout(case_code: str):
    row = sessions.current()
    if row is not None:
        sessions.end(row)
        db.session.commit()
    response = make_response(_back_to_door(case_code))
    sessions.clear_cookie(response)
    return response
