"""What the "Edit alert" form needs from Rootly: the alert as it is now, the urgencies, and the pickers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.backends import Backends
from bot.domain import Alert, AlertRef, CatalogKind, Picker, Urgency
from bot.services.pickers import PickerSource

EDIT_KINDS = (CatalogKind.SERVICES, CatalogKind.ENVIRONMENTS, CatalogKind.TEAMS)


@dataclass(frozen=True)
class EditForm:
    alert: Alert
    urgencies: list[Urgency]
    pickers: dict[CatalogKind, Picker]


class EditFormSource:
    """Shares the incident form's cached pickers, so opening one form warms the other."""

    def __init__(self, backends: Backends, pickers: PickerSource) -> None:
        self.backends = backends
        self.pickers = pickers

    def load(self, ref: AlertRef) -> EditForm:
        alert = self.backends.get(ref.backend).get_alert(ref.id)
        pickers = {kind: self.pickers.picker(kind) for kind in EDIT_KINDS}
        return EditForm(alert, self.pickers.rootly.alert_urgencies(), pickers)
