"""API of the 重点人员 / 重点群体 register (list, register, one entry, reviews) and of 包案."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from mediation import clock
from mediation.accounts.access import get_dispute, get_visible_node
from mediation.accounts.auth import api_user, token_required
from mediation.extensions import db
from mediation.keypeople import schemas as sc
from mediation.keypeople import service
from mediation.keypeople.models import KeyEntry

blp = Blueprint("keypeople_api", __name__, url_prefix="/api/v1", description="重点人员、重点群体，包案")


def entry_out(entry: KeyEntry, *, detail: bool = False) -> dict:
    """The entry as the API answers it for the current user (ID number masked by role; only the
    linked cases the user may see)."""
    user = api_user()
    out = {
        "id": entry.id,
        "name": entry.name,
        "kind": entry.kind.value,
        "is_group": entry.is_group,
        "group_size": entry.group_size,
        "node": entry.node.code,
        "node_name": entry.node.name,
        "unit": entry.unit.code,
        "unit_name": entry.unit.name,
        "id_number": service.shown_id_number(user, entry),
        "measures": entry.measures,
        "review_days": entry.review_days,
        "next_review_on": entry.next_review_on,
        "due": entry.next_review_on <= clock.today(),
        "active": entry.active,
    }
    if detail:
        out["cases"] = [
            {"id": d.id, "case_no": d.case_no, "status": d.status.value}
            for d in service.visible_cases(user, entry)
        ]
        out["history"] = service.history_of(user, entry)
    return out


@blp.route("/key-people")
class Entries(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.EntryListArgs, location="query")
    @blp.response(200, sc.EntryPage)
    @blp.alt_response(403, description="无权查看重点人员")
    def get(self, args):
        """重点人员、重点群体（本辖区，仅综治中心和责任单位）：可按节点、类别、复查到期筛选，分页"""
        user = api_user()
        if not service.may_see_key_people(user):
            abort(403, message="您无权查看重点人员信息。")
        args["node_obj"] = None
        if args.get("node"):
            args["node_obj"] = get_visible_node(user, args["node"])
            if args["node_obj"] is None:
                abort(422, errors={"query": {"node": ["请选择您辖区内的节点。"]}})
        page = service.list_entries(user, args)
        return page.map(lambda items: [entry_out(e) for e in items]).envelope()

    @blp.arguments(sc.EntryIn)
    @blp.response(201, sc.EntryDetailOut)
    @blp.alt_response(403, description="只有综治中心可以登记")
    def post(self, data):
        """登记重点人员或重点群体（同一地点同名同类只登记一次）"""
        user = api_user()
        if not service.may_manage_key_people(user):
            abort(403, message="只有综治中心工作人员可以登记重点人员。")
        try:
            entry = service.save_entry(user, None, data)
        except service.KeyPeopleError as err:
            db.session.rollback()
            abort(422, errors={"json": err.messages})
        db.session.commit()
        return entry_out(entry, detail=True)


@blp.route("/key-people/<int:entry_id>")
class Entry(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.EntryDetailOut)
    def get(self, entry_id):
        """一条登记：稳控措施、复查周期、关联案件（仅您可见的）、全部复查和修改记录"""
        return entry_out(service.get_entry(api_user(), entry_id), detail=True)


@blp.route("/key-people/<int:entry_id>/reviews")
class Reviews(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ReviewIn)
    @blp.response(201, sc.EntryDetailOut)
    def post(self, data, entry_id):
        """记录一次复查（日期、情况、下次复查日期），重新计算下次复查日期；重试不重复"""
        user = api_user()
        entry = service.get_entry(user, entry_id)
        try:
            service.record_review(user, entry, data)
        except service.KeyPeopleError as err:
            db.session.rollback()
            abort(422, errors={"json": err.messages})
        db.session.commit()
        return entry_out(entry, detail=True)


@blp.route("/disputes/<int:dispute_id>/leader")
class CaseLeader(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.CaseLeaderIn)
    @blp.response(200, sc.CaseLeaderOut)
    @blp.alt_response(403, description="只有综治中心可以确定包案领导")
    def put(self, data, dispute_id):
        """包案：确定案件的包案领导（姓名、职务、日期），记入办理过程"""
        user = api_user()
        dispute = get_dispute(user, dispute_id)
        if not service.may_set_case_leader(user, dispute):
            abort(403, message="只有综治中心工作人员可以确定包案领导。")
        leader = service.set_case_leader(user, dispute, data)
        db.session.commit()
        return leader
