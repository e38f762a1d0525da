"""The JSON API of 调解组织 (read-only): the registry, one organisation, the coverage of a node. The
same service functions as the pages (orgs/views.py); nodes through ``reports.common.resolve_report_node``."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from mediation.accounts.auth import api_user, token_required
from mediation.common.enums import OrgKind
from mediation.common.paging import paginate_args
from mediation.orgs import schemas as sc
from mediation.orgs import service as orgs
from mediation.reports.common import ReportError, resolve_report_node

blp = Blueprint("orgs_api", __name__, url_prefix="/api/v1", description="调解组织名册与村（居）调委会覆盖")


def _node(code: str | None):
    try:
        return resolve_report_node(api_user(), code)
    except ReportError as err:
        if err.status == 422:
            abort(422, message=err.message, errors={"query": {"node": [err.message]}})
        abort(err.status, message=err.message)


@blp.route("/orgs")
class Orgs(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.OrgArgs, location="query")
    @blp.response(200, sc.OrgPageOut)
    @blp.alt_response(422, description="节点代码、组织类型或分页参数无效")
    def get(self, args):
        """调解组织名册：本辖区内的调解组织（可按节点及其下级、组织类型筛选），分页"""
        user = api_user()
        node = _node(args["node"]) if args.get("node") else None
        kind = OrgKind(args["kind"]) if args.get("kind") else None
        page = paginate_args(orgs.registry_query(user, node, kind), args, rows=True)
        counts = orgs.member_counts([org.unit_id for org, _, _ in page.items])
        return page.map(
            lambda rows: [orgs.org_data(org, n, counts.get(org.unit_id, 0)) for org, _, n in rows]
        ).envelope()


@blp.route("/orgs/coverage")
class Coverage(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.CoverageArgs, location="query")
    @blp.response(200, sc.CoverageOut)
    @blp.alt_response(422, description="节点代码无效")
    def get(self, args):
        """村（居）调委会覆盖：该节点下每个村（社区）是否设有村（居）人民调解委员会，按乡镇（街道）计数和覆盖率"""
        return orgs.coverage(_node(args["node"]))


@blp.route("/orgs/<unit_code>")
class OrgItem(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.OrgDetailOut)
    @blp.alt_response(404, description="没有该调解组织，或不在本辖区内")
    def get(self, unit_code):
        """一个调解组织的档案及其有账号的成员"""
        unit = orgs.visible_unit(api_user(), unit_code)
        profile = orgs.profile_of(unit)
        if profile is None:
            abort(404, message="该单位没有调解组织档案。")
        people = orgs.members(unit)
        return {**orgs.org_data(profile, unit.node, len(people)), "members": people}
