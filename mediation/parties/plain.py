"""Where a case stands, in the words a party understands (not the staff's 待分流/办理中/稳控).

:func:`plain_stage` maps the case's stage (:func:`mediation.disputes.workflow.stage_of`) and, once it
is closed, its outcome to a sentence and "what happens next". One table per dimension: a new stage or
outcome without a sentence fails tests/test_parties_door.py."""

from __future__ import annotations

from dataclasses import dataclass

from mediation.common.enums import Outcome
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage, stage_of


@dataclass(frozen=True)
class Plain:
    status: str  # where the case stands
    next: str  # what happens next


STAGE_WORDS: dict[Stage, Plain] = {
    Stage.PENDING: Plain(
        "您的纠纷已登记，正在确定由哪个调解组织办理。",
        "确定办理单位后，将由该单位受理并安排调解员与您联系。",
    ),
    Stage.AWAITING: Plain(
        "您的纠纷已转交调解组织，正在等待受理。",
        "调解组织决定受理后，您会收到短信通知。",
    ),
    Stage.HANDLING: Plain(
        "您的纠纷已受理，调解员将联系您安排调解。",
        "请保持电话畅通，按约定的时间和地点参加调解。",
    ),
    Stage.STABILIZED: Plain(
        "调解工作告一段落，调解组织会继续跟进，防止矛盾反复。",
        "如情况有变化，请及时联系调解员。",
    ),
}

OUTCOME_WORDS: dict[Outcome | None, Plain] = {
    Outcome.SUCCESS: Plain(
        "调解成功，双方已达成调解协议。",
        "请按协议约定履行。协议生效后可在下方下载协议书；需要时可共同向人民法院申请司法确认。",
    ),
    Outcome.FAILURE: Plain(
        "经调解，双方未能达成协议，本次调解已结束。",
        "您可以依法通过仲裁、行政或者向人民法院起诉等途径维护自己的权利。",
    ),
    Outcome.WITHDRAWN: Plain("调解申请已撤回，本案已结束。", "如需再次调解，可以重新提出申请。"),
    Outcome.REJECTED: Plain(
        "您的调解申请不予受理。",
        "您可以依法通过仲裁、行政或者向人民法院起诉等途径解决纠纷。",
    ),
    None: Plain("本案已办结。", "如有疑问，请联系办理单位。"),
}


def plain_stage(dispute: Dispute) -> Plain:
    """The sentence and the next step for the case as it stands now."""
    stage = stage_of(dispute)
    if stage == Stage.CLOSED:
        return OUTCOME_WORDS[Outcome(dispute.outcome) if dispute.outcome else None]
    return STAGE_WORDS[stage]
