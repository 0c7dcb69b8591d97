"""Tamper-evident audit log: the API every area calls, and the admin screen (blueprint `audit`).

    from app import audit
    audit.record("user.role_changed", actor=actor, object_type="user", object_id=target.id,
                 details={"from": old, "to": new})   # written with the caller's commit
    audit.record_now("note.read", object_type="note", object_id=note.id)  # written at once

See app/audit/chain.py for the rules (what may go in `details`, locking, SQLite caveat).
"""

from flask import Blueprint

from app.audit.chain import (
    action_label,
    chain_head,
    object_type_label,
    pseudonym,
    record,
    record_now,
    register_action,
    verify_chain,
)

bp = Blueprint("audit", __name__)
bp.add_app_template_global(action_label, "audit_action_label")
bp.add_app_template_global(object_type_label, "audit_object_type_label")

__all__ = ["bp", "action_label", "chain_head", "object_type_label", "pseudonym", "record", "record_now",
           "register_action", "verify_chain"]

from app.audit import routes  # noqa: E402,F401
