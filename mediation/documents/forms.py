"""The 司法部 人民调解文书 forms besides the agreement: what each shows, and which of its fields the
case does not hold (those are kept in :class:`CaseForm` rows).

Each form's data = the case (parties, summary, dates, unit) + its own fields. 调解记录 come from the
case's mediation sessions (disputes.casework) when that model exists, else from ``session`` events
of the timeline; 回访记录 are CaseForm rows (several per case) plus ``followup_done`` events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mediation.common.time import local_today
from mediation.common.validators import normalize_newlines, text_error


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text / textarea / date / select
    required: bool = False
    max_length: int = 2000
    choices: tuple[str, ...] = ()
    hint: str | None = None


@dataclass(frozen=True)
class FormSpec:
    key: str
    title: str
    fields: tuple[Field, ...] = ()
    multiple: bool = False  # several rows per case (回访记录)
    editable: bool = True
    defaults: dict = field(default_factory=dict)


# 回访方式: the 回访记录 form and the follow-ups' completion (followups.schemas.FollowUpComplete).
VISIT_METHODS = ("电话回访", "上门回访", "当面回访", "其他")

REMEDY_TEXT = "你（们）可以向有关行政机关申请行政调解，或者依法申请仲裁、向人民法院提起诉讼。"
RIGHTS_TEXT = (
    "根据《中华人民共和国人民调解法》第二十三条、第二十四条的规定，在人民调解活动中，当事人享有下列权利：",
    "（一）选择或者接受人民调解员；",
    "（二）接受调解、拒绝调解或者要求终止调解；",
    "（三）要求调解公开进行或者不公开进行；",
    "（四）自主表达意愿、自愿达成调解协议。",
    "当事人应当履行下列义务：",
    "（一）如实陈述纠纷事实；",
    "（二）遵守调解现场秩序，尊重人民调解员；",
    "（三）尊重对方当事人行使权利。",
    "经人民调解委员会调解达成的调解协议，具有法律约束力，当事人应当按照约定履行（人民调解法第三十一条）。"
    "当事人可以自调解协议生效之日起三十日内共同向人民法院申请司法确认（人民调解法第三十三条）。",
)

# 受理通知书: the parties' rights in one line (the 告知书 gives them in full).
ACCEPTANCE_RIGHTS_TEXT = (
    "在人民调解活动中，你有权选择或者接受人民调解员，接受调解、拒绝调解或者要求终止调解，要求调解公开进行"
    "或者不公开进行，自主表达意愿、自愿达成调解协议；应当如实陈述纠纷事实，遵守调解现场秩序，尊重人民调解员"
    "和对方当事人（详见《人民调解当事人权利义务告知书》）。人民调解委员会调解民间纠纷，不收取任何费用。"
)

ROUTES_TEXT = "你（们）可以依法通过仲裁、行政、司法等途径维护自己的权利。"

FORMS: dict[str, FormSpec] = {
    f.key: f
    for f in (
        FormSpec(
            "application",
            "人民调解申请书",
            (
                Field("requests", "申请事项", "textarea", True),
                Field("reasons", "事实和理由", "textarea", hint="留空则使用登记时的简要情况"),
                Field("applied_on", "申请日期", "date"),
            ),
        ),
        FormSpec(
            "registration",
            "人民调解受理登记表",
            (
                Field("acceptance_note", "受理意见", "textarea", hint="留空则填写“同意受理”"),
                Field("registrar", "登记人", max_length=50, hint="留空则为登记该纠纷的用户"),
            ),
        ),
        FormSpec(
            "acceptance",
            "人民调解受理通知书",
            (
                Field("mediator", "人民调解员", max_length=50, hint="留空则为案件承办人"),
                Field("notified_on", "通知日期", "date", hint="留空则为受理日期"),
            ),
        ),
        FormSpec(
            "rejection",
            "不予受理通知书",
            (
                Field("reason", "不予受理的理由", "textarea", hint="留空则使用办理过程中“不予受理”的说明"),
                Field(
                    "remedy",
                    "告知事项（其他解决途径）",
                    "textarea",
                    hint="留空则告知可申请行政调解、仲裁或提起诉讼",
                ),
                Field("notified_on", "通知日期", "date"),
            ),
        ),
        FormSpec(
            "rights",
            "人民调解当事人权利义务告知书",
            (Field("notified_on", "告知日期", "date", hint="留空则为受理日期"),),
        ),
        FormSpec("record", "人民调解记录", editable=False),
        FormSpec(
            "oral",
            "口头协议登记表",
            (
                Field("agreed_on", "达成协议日期", "date", True),
                Field("content", "协议内容", "textarea", True),
                Field("performance", "履行方式、时限", "textarea"),
                Field("mediator", "人民调解员", max_length=50, hint="留空则为案件承办人"),
            ),
        ),
        FormSpec(
            "termination",
            "终止人民调解告知书",
            (
                Field("reason", "终止调解的原因", "textarea", True),
                Field("routes", "告知事项", "textarea", hint="留空则使用人民调解法第二十六条的告知内容"),
                Field("notified_on", "告知日期", "date"),
            ),
        ),
        FormSpec(
            "followup",
            "人民调解回访记录",
            (
                Field("visited_on", "回访日期", "date", True),
                Field("method", "回访方式", "select", True, choices=VISIT_METHODS),
                Field("visitor", "回访人", max_length=50, required=True),
                Field("visited", "被回访人", max_length=100, required=True),
                Field("performance", "协议履行情况", "textarea", True),
                Field("opinion", "当事人意见", "textarea"),
                Field("note", "备注", "textarea"),
            ),
            multiple=True,
        ),
        FormSpec(
            "confirmation",
            "司法确认申请书",
            (
                Field("court", "受理法院", max_length=100, required=True),
                Field("requests", "请求事项", "textarea", hint="留空则请求确认调解协议有效"),
                Field("applied_on", "申请日期", "date"),
            ),
        ),
        FormSpec(
            "cover",
            "人民调解卷宗封面",
            (
                Field("title", "案由", max_length=100, hint="留空则为“纠纷类别 + 纠纷”"),
                Field("retention", "保管期限", "select", choices=("永久", "长期", "短期")),
                Field("filed_by", "立卷人", max_length=50),
                Field("filed_on", "立卷日期", "date"),
            ),
        ),
    )
}

# The order of the case file (卷宗) after its cover and index.
CASE_FILE_ORDER = (
    "application",
    "registration",
    "acceptance",
    "rejection",
    "rights",
    "record",
    "agreements",
    "oral",
    "confirmation",
    "termination",
    "followup",
)


def clean_fields(spec: FormSpec, raw: dict) -> tuple[dict, dict[str, str]]:
    """Validate a form's own fields: (values, errors by field name), messages in Chinese."""
    values: dict = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        value = normalize_newlines((raw.get(f.name) or "").strip())
        if not value:
            if f.required:
                errors[f.name] = "必填项。"
            continue
        if f.kind == "date":
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                errors[f.name] = "日期格式应为 YYYY-MM-DD。"
                continue
        elif f.kind == "select" and value not in f.choices:
            errors[f.name] = "取值无效。"
            continue
        if len(value) > f.max_length:
            errors[f.name] = f"不能超过{f.max_length}个字。"
            continue
        if err := text_error(value, multiline=f.kind == "textarea"):  # the schemas' rule (common.schema)
            errors[f.name] = err
            continue
        values[f.name] = value
    return values, errors


def as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def today() -> date:
    return local_today()
