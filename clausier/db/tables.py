"""Every table of the product, imported once so that the metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from clausier.auth.models import ApiToken, SignInCounter
from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion, Outcome
from clausier.db.changes import ChangeMark
from clausier.declarations.models import DeclarationLine, Statement
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships.models import Convention, ConventionService, ConventionTerritory
from clausier.referential.models import Commune, Departement, Epci, Region
from clausier.tasks.models import Task
from clausier.web.models import LoginLink, WebSession
from notifications.models import OutboxMessage, Reminder

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Beneficiary",
    "BeneficiaryCriterion",
    "Buyer",
    "ChangeMark",
    "Commune",
    "Contractor",
    "Convention",
    "ConventionService",
    "ConventionTerritory",
    "DeclarationLine",
    "Departement",
    "Epci",
    "Facilitator",
    "LoginLink",
    "Lot",
    "Market",
    "OutboxMessage",
    "Outcome",
    "Region",
    "Reminder",
    "SignInCounter",
    "Statement",
    "Structure",
    "Task",
    "TransitionLog",
    "WebSession",
    "metadata",
]
