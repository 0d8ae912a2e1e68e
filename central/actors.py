"""Who central's writes are recorded as, on audit entries."""

from app.models.capture import Actor

#: Administration commands and API calls made with the administrator credential.
ADMINISTRATION = Actor(username="central")
#: The billing engine.
BILLING = Actor(username="facturation")


def agency_actor(agency_code: str) -> Actor:
    """Writes made on behalf of an agency through its credential."""
    return Actor(username=f"agence {agency_code}")
