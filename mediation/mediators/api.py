"""API of the mediators' registry: the list, one mediator (cases, sessions, results, trainings),
training entry, and naming a case's 承办调解员."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from mediation.accounts.access import get_dispute, get_visible_node
from mediation.accounts.auth import api_user, token_required
from mediation.extensions import db
from mediation.mediators import schemas as sc
from mediation.mediators import service
from mediation.mediators.models import Mediator

blp = Blueprint(
    "mediators_api", __name__, url_prefix="/api/v1", description="调解员名册、培训记录、承办调解员"
)


def _out(m: Mediator, untrained: set[int]) -> dict:
    """The mediator as the API answers it for the current user (phone and ID number masked by role)."""
    user = api_user()
    return {
        "id": m.id,
        "name": m.name,
        "units": m.units,
        "employment": m.employment.value,
        "background": m.background.value,
        "qualifications": m.qualifications,
        "phone": service.shown_phone(user, m),
        "id_number": service.shown_id_number(user, m),
        "active": m.active,
        "user": m.user,
        "untrained": m.id in untrained,
        "trainings": m.trainings,
    }


@blp.route("/mediators")
class Mediators(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.MediatorListArgs, location="query")
    @blp.response(200, sc.MediatorPage)
    def get(self, args):
        """调解员列表（本辖区）：可按节点（单位所在子树）、专职/兼职、背景、本年度未培训筛选，分页"""
        args["node_obj"] = None
        if args.get("node"):
            args["node_obj"] = get_visible_node(api_user(), args["node"])
            if args["node_obj"] is None:
                abort(422, errors={"query": {"node": ["请选择您辖区内的节点。"]}})
        page = service.list_mediators(api_user(), args)
        untrained = service.untrained_ids(m.id for m in page.items)
        return page.map(lambda items: [_out(m, untrained) for m in items]).envelope()


@blp.route("/mediators/<int:mediator_id>")
class MediatorItem(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.MediatorDetailOut)
    def get(self, mediator_id):
        """一名调解员：基本信息、培训记录、承办案件（含状态）、调解次数、办案结果"""
        user = api_user()
        m = service.get_mediator(user, mediator_id)
        record = service.record_of(m, user)
        out = _out(m, service.untrained_ids([m.id]))
        out["cases"] = [
            {
                "id": d.id,
                "case_no": d.case_no,
                "status": d.status.value,
                "outcome": d.outcome.value if d.outcome else None,
            }
            for d in record.cases
        ]
        out["sessions"] = record.session_count
        out["results"] = {**record.by_outcome, "未办结": record.open_cases}
        return out


@blp.route("/mediators/<int:mediator_id>/trainings")
class MediatorTrainings(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.TrainingIn)
    @blp.response(201, sc.TrainingOut)
    @blp.alt_response(403, description="无权为该调解员登记培训")
    def post(self, data, mediator_id):
        """登记一条培训记录（同一调解员同日同主题只记一次，重试不重复）"""
        user = api_user()
        m = service.get_mediator(user, mediator_id)
        if not service.may_edit_mediator(user, m):
            abort(403, message="您无权维护该调解员的信息。")
        training = service.add_training(user, m, data)
        db.session.commit()
        return training


@blp.route("/disputes/<int:dispute_id>/mediators")
class CaseMediators(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.CaseMediatorsIn)
    @blp.response(200, sc.CaseMediatorOut(many=True))
    @blp.alt_response(403, description="只有牵头单位的办案人员可以指定承办调解员")
    def put(self, data, dispute_id):
        """指定案件的承办调解员（一名或多名，限牵头单位、联办单位在职调解员），记入办理过程"""
        user = api_user()
        dispute = get_dispute(user, dispute_id)
        if not service.may_assign_case_mediators(user, dispute):
            abort(403, message="只有牵头单位的办案人员可以指定承办调解员。")
        try:
            service.set_case_mediators(user, dispute, data["mediators"])
        except service.MediatorError as err:
            db.session.rollback()
            abort(422, errors={"json": err.messages})
        db.session.commit()
        return list(dispute.mediators)
