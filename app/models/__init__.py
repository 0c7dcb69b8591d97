"""All models, imported here so Alembic and the app see every table."""

from app.models.appointment import (
    CANCELLED_BY,
    MODES,
    STATUS_LABELS,
    Appointment,
    AppointmentEvent,
    Status,
)
from app.models.audit import GENESIS_HASH, AuditEvent
from app.models.desk import (
    ABSENCE_KINDS,
    DESK_SERVICES,
    AvailabilityInterval,
    Closure,
    ClosureScope,
    Desk,
    DeskService,
    ExtraOpening,
    FeedScope,
    FeedToken,
    OpeningSchedule,
    ScheduleInterval,
    TutorAbsence,
    TutorAvailability,
    desk_operators,
    desk_tutors,
)
from app.models.factor import RecoveryCode, UserFactor
from app.models.note import OUTCOMES, PROGRESS, REFERRALS, Note, NoteAddendum, NoteOutcome, NoteStatus, NoteVersion
from app.models.organisation import Organisation, OrganisationKind
from app.models.outbox import OutboxMessage
from app.models.privacy import CONSENT_KINDS, GIVEN_BY, ConsentRecord, ConsentText
from app.models.report import NARRATIVE_FIELDS, OUTCOME_FIELDS, REPORT_STATUSES, QuarterlyReport, ReportStatus
from app.models.ticket import TICKET_CHANNELS, TICKET_OUTCOMES, TICKET_STATUSES, Ticket, TicketComment, TicketStatus
from app.models.user import Role, User, UserSession
from app.models.waiting import (
    RECALL_OUTCOMES,
    WAITING_STATUSES,
    AppointmentLink,
    RecallTask,
    TutorFeedToken,
    WaitingEntry,
)
from app.models.young_person import (
    CHANNELS,
    GENDERS,
    STUDY_WORK_STATUSES,
    YoungPerson,
)

__all__ = [
    "ABSENCE_KINDS", "DESK_SERVICES", "AvailabilityInterval", "Closure", "ClosureScope", "Desk", "DeskService",
    "ExtraOpening", "FeedScope", "FeedToken", "OpeningSchedule", "ScheduleInterval", "TutorAbsence",
    "TutorAvailability", "desk_operators", "desk_tutors",
    "Organisation", "OrganisationKind", "OutboxMessage", "Role", "User", "UserSession", "RecoveryCode", "UserFactor",
    "CANCELLED_BY", "MODES", "STATUS_LABELS", "Appointment", "AppointmentEvent", "Status",
    "CHANNELS", "GENDERS", "STUDY_WORK_STATUSES", "YoungPerson",
    "GENESIS_HASH", "AuditEvent",
    "CONSENT_KINDS", "GIVEN_BY", "ConsentRecord", "ConsentText",
    "RECALL_OUTCOMES", "WAITING_STATUSES", "AppointmentLink", "RecallTask", "TutorFeedToken", "WaitingEntry",
    "OUTCOMES", "PROGRESS", "REFERRALS", "Note", "NoteAddendum", "NoteOutcome", "NoteStatus", "NoteVersion",
    "TICKET_CHANNELS", "TICKET_OUTCOMES", "TICKET_STATUSES", "Ticket", "TicketComment", "TicketStatus",
    "NARRATIVE_FIELDS", "OUTCOME_FIELDS", "REPORT_STATUSES", "QuarterlyReport", "ReportStatus"]
