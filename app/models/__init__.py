"""All models, imported here so Alembic and the app see every table."""

from app.models.organisation import Organisation, OrganisationKind
from app.models.outbox import OutboxMessage
from app.models.user import Role, User, UserSession

__all__ = ["Organisation", "OrganisationKind", "OutboxMessage", "Role", "User", "UserSession"]
