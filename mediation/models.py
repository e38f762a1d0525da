"""Import every model so that SQLAlchemy's metadata (and Alembic) knows every table."""

from mediation.accounts.models import ApiToken, LoginAttempt, User, UserSession  # noqa: F401
from mediation.applications.models import ApplicationPhoto, OnlineApplication  # noqa: F401
from mediation.disputes.casework import (  # noqa: F401
    CourtReferral,
    JudicialConfirmation,
    MediationSession,
    PoliceNotification,
)
from mediation.disputes.models import CaseSequence, Dispute, Event, IdempotencyRecord, Party  # noqa: F401
from mediation.documents.models import Agreement, CaseForm, Signature, SignedDocument, UnitSeal  # noqa: F401
from mediation.followups.models import (  # noqa: F401
    DeadlineAlert,
    FollowUp,
    Notification,
    SchedulerLease,
    SupervisionOrder,
)
from mediation.geo.models import Node, Unit  # noqa: F401
from mediation.keypeople.models import CaseLeader, KeyEntry, KeyEntryLog, KeyReviewDue  # noqa: F401
from mediation.ledger.models import LedgerJob, LedgerRecord  # noqa: F401
from mediation.mediators.models import Mediator, Training  # noqa: F401
from mediation.orgs.models import MediationOrg  # noqa: F401
from mediation.parties.models import PartyCodeFailure, PartySession  # noqa: F401
from mediation.reports.models import (  # noqa: F401
    CarryOver,
    MonthClose,
    ReopenRequest,
    Screening,
)
from mediation.routing.models import Extension, RoutingRule, TimeLimit  # noqa: F401
from mediation.sessions.models import ScheduledSession, SessionInvitee  # noqa: F401
from mediation.sms.models import SmsCode, SmsMessage  # noqa: F401
