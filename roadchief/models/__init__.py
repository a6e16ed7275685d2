"""SQLAlchemy tables. Amounts are stored exactly: lengths in whole metres,
money in integer fen, scores in hundredths of a point (no float columns for any of them)."""

from roadchief.models.accounts import ApiToken, User
from roadchief.models.admin import Station, Town, Village
from roadchief.models.audit import AuditEntry
from roadchief.models.chiefs import Chief, ChiefAssignment
from roadchief.models.funding import FundingParamsRevision, LedgerEntry, QuarterClose, QuarterScore
from roadchief.models.network import MileageVersion, Road, Segment, SegmentMileage

__all__ = [
    "Station",
    "Town",
    "Village",
    "Road",
    "Segment",
    "MileageVersion",
    "SegmentMileage",
    "Chief",
    "ChiefAssignment",
    "User",
    "ApiToken",
    "AuditEntry",
    "FundingParamsRevision",
    "QuarterScore",
    "QuarterClose",
    "LedgerEntry",
]
from roadchief.models.inspections import (  # noqa: F401
    DeductionCatalog,
    DeductionItem,
    Finding,
    Inspection,
    InspectionCorrection,
    InspectionPhoto,
    InspectionSegment,
    QuarterFinalisation,
    Rectification,
    RectificationEvent,
)
from roadchief.models.locks import YearLock  # noqa: F401
from roadchief.models.operations import (  # noqa: F401
    EmergencyStock,
    InspectionAsset,
    RoadAsset,
    RoadAssetPhoto,
    RoadEvent,
    RoadEventPhoto,
    SeasonWindow,
    WorksPlanItem,
    WorksProgress,
)
from roadchief.models.patrols import PatrolRule, PatrolTrack, PatrolTrackSegment  # noqa: F401
from roadchief.models.public import PublicReport  # noqa: F401
from roadchief.models.routing import PublicReportEvent, RectificationAssignee  # noqa: F401
from roadchief.models.spatial import SegmentCell  # noqa: F401
from roadchief.models.supervision import (  # noqa: F401
    DeadlineItemRule,
    DeadlineRuleSet,
    NotificationContact,
    NotificationOutbox,
    NotificationRule,
    RectificationEscalation,
)
