"""Every table camtel has, gathered in one metadata: imported by the composition roots
(`camtel.app`, `camtel.cli`), the migrations and the tests, so that every model is loaded
before the privacy engine looks tables up by name (`camtel.privacy.tables`)."""

from camtel.accounts import models as accounts_models
from camtel.db.base import Base
from camtel.devices import models as devices_models
from camtel.events import models as events_models
from camtel.geofences import models as geofences_models
from camtel.mail import models as mail_models
from camtel.media import models as media_models
from camtel.notify import models as notify_models
from camtel.privacy import audit as audit_models
from camtel.privacy import models as privacy_models
from camtel.privacy import rights_models
from camtel.sales import models as sales_models
from camtel.trips import models as trips_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "devices_models",
    "events_models",
    "geofences_models",
    "mail_models",
    "media_models",
    "metadata",
    "notify_models",
    "privacy_models",
    "rights_models",
    "sales_models",
    "trips_models",
]
