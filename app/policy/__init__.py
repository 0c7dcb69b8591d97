"""Access policy: the one place that says which role may do what, on which object.

Every endpoint declares its access with `@public` or `@requires(permission)` (core.py);
`enforce_declared_access` refuses any endpoint that declares nothing, so a forgotten
declaration fails closed. Object-level rules live in one module per area, as `can_*`
questions, `scoped_*` query filters and `get_*_or_404` loaders; views never test roles.
Everything is re-exported here: callers write `from app.policy import ...`.
"""

from app.policy.bookings import (  # noqa: F401
    agenda_desks,
    agenda_is_personal,
    agenda_tutors,
    bookable_desks,
    can_book,
    can_have_tutor_feed,
    can_manage_appointment,
    can_override_hours,
    get_appointment_or_404,
    occupancy_desks,
    scoped_appointments,
    scoped_recall_tasks,
    scoped_waiting,
)
from app.policy.core import (  # noqa: F401
    ADMIN,
    ASSIGNABLE_ROLES,
    COORD,
    EVERYONE,
    MUNI,
    OBS,
    OPER,
    PERMISSIONS,
    PUBLIC,
    SECOND_FACTOR_ROLES,
    TUTOR,
    _safe_next_target,
    before_second_factor,
    declared_access,
    enforce_declared_access,
    has_permission,
    is_safe_next,
    public,
    requires,
)
from app.policy.desks import (  # noqa: F401
    can_close_network,
    can_edit_absences,
    can_edit_availability,
    can_edit_hours,
    can_manage_desks,
    can_manage_feeds,
    can_see_closure_reasons,
    can_see_feed_links,
    editable_desks,
    get_desk_or_404,
    scoped_desks,
)
from app.policy.helpdesk import (  # noqa: F401
    assignable_staff,
    can_assign_ticket,
    can_book_ticket,
    can_work_ticket,
    get_ticket_or_404,
    intake_desks,
    scoped_tickets,
)
from app.policy.notes import (  # noqa: F401
    can_acknowledge_attention,
    can_add_addendum,
    can_book_follow_up,
    can_read_note,
    can_write_note,
    get_note_or_404,
    needs_breakglass,
    scoped_breakglass_notes,
    scoped_notes,
)
from app.policy.people import (  # noqa: F401
    _org_tutor_ids,
    _own_desk_ids,
    can_register_young_people,
    can_view_person_details,
    can_view_young_person,
    get_young_person_or_404,
    names_in_scope,
    person_in_scope,
    role_stand_in,
    scoped_young_people,
    young_people_scope_params,
)
from app.policy.privacy import (  # noqa: F401
    can_manage_privacy,
    can_record_consent,
    get_person_for_privacy_or_404,
    scoped_privacy_people,
)
from app.policy.reports import (  # noqa: F401
    can_download_quarterly,
    check_report_filters,
    report_appointment_scope,
    report_filter_desks,
    report_hours_desks,
    report_scope_kind,
    report_suppresses,
)
from app.policy.staff import (  # noqa: F401
    assignable_organisations,
    assignable_roles,
    can_manage_organisation,
    can_manage_user,
    get_organisation_or_404,
    get_user_or_404,
    scoped_organisations,
    scoped_users,
)
