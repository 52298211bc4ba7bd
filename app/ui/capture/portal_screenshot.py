"""Wayland: ask the xdg desktop portal for a screenshot (apps there may not read the screen).

The request is interactive, so the desktop shows its own chooser, where the person picks
the region; the portal answers on a Request object with the picture's file URI.
https://flatpak.github.io/xdg-desktop-portal/docs/doc-org.freedesktop.portal.Screenshot.html
"""

from __future__ import annotations

import logging
import uuid

from PySide6.QtCore import SLOT, QObject, QUrl, Signal, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SCREENSHOT = "org.freedesktop.portal.Screenshot"
REQUEST = "org.freedesktop.portal.Request"
RESPONSE_OK, RESPONSE_CANCELLED = 0, 1
# Response(u response, a{sv} results): QtDBus unpacks it into the slot's types (PySide6
# cannot read a QDBusArgument map itself). PySide6 takes the slot as the str SLOT() makes;
# its stubs say bytes, which it refuses.
ON_RESPONSE = SLOT("_on_response(uint,QVariantMap)")


class PortalScreenshot(QObject):
    """One Screenshot request at a time: `taken`, `cancelled` or `failed` ends it."""

    taken = Signal(QImage)
    cancelled = Signal()
    failed = Signal(str)  # a sentence

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = QDBusConnection.sessionBus()
        self._path: str | None = None

    def request(self) -> None:
        if not self._bus.isConnected():
            self.failed.emit(
                "Capture is unavailable: this Wayland session has no D-Bus session bus, and "
                "Wayland lets apps read the screen only through the desktop portal."
            )
            return
        token = f"maverick_{uuid.uuid4().hex[:12]}"
        sender = self._bus.baseService().lstrip(":").replace(".", "_")
        self._path = f"{PORTAL_PATH}/request/{sender}/{token}"
        # Listen before asking: the answer may come before the call returns.
        listening = self._bus.connect(  # type: ignore[call-overload]
            PORTAL, self._path, REQUEST, "Response", self, ON_RESPONSE
        )
        if not listening:
            self._path = None
            self.failed.emit(
                "Capture is unavailable: the app could not listen for the desktop portal's "
                f"answer on D-Bus ({self._bus.lastError().message() or 'no reason given'})."
            )
            return
        call = QDBusMessage.createMethodCall(PORTAL, PORTAL_PATH, SCREENSHOT, "Screenshot")
        call.setArguments(["", {"handle_token": token, "interactive": True, "modal": True}])
        reply = self._bus.call(call)
        if reply.type() == QDBusMessage.MessageType.ErrorMessage:
            self._disconnect()
            self.failed.emit(
                "Capture is unavailable: the desktop portal's Screenshot request failed "
                f"({reply.errorMessage() or reply.errorName()}); install xdg-desktop-portal "
                "and your desktop's backend (xdg-desktop-portal-gnome, -kde or -wlr)."
            )

    @Slot("uint", "QVariantMap")
    def _on_response(self, code: int, results: dict[str, object]) -> None:
        self._disconnect()
        if code == RESPONSE_CANCELLED:
            self.cancelled.emit()
            return
        uri = str(results.get("uri", ""))
        if code != RESPONSE_OK or not uri:
            self.failed.emit(f"The desktop portal did not take the screenshot (response {code}).")
            return
        path = QUrl(uri).toLocalFile()
        image = QImage(path)
        if image.isNull():
            self.failed.emit(f"The portal's screenshot {path} could not be read.")
            return
        self.taken.emit(image)

    def _disconnect(self) -> None:
        if self._path is not None:
            self._bus.disconnect(  # type: ignore[call-overload]
                PORTAL, self._path, REQUEST, "Response", self, ON_RESPONSE
            )
            self._path = None
