"""A stand-in xdg desktop portal for test_portal.py: answers Screenshot like the real one.

Run on a private session bus: ``fake_portal.py RESPONSE URI``. It owns
org.freedesktop.portal.Desktop, takes the Screenshot call, exports the Request object at
the path the caller worked out from its handle_token, and emits Response(u, a{sv}) there.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, QTimer, Signal, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage

EXPORT_SIGNALS = QDBusConnection.RegisterOption.ExportAllSignals
EXPORT_SLOTS = QDBusConnection.RegisterOption.ExportAllSlots


@ClassInfo({"D-Bus Interface": "org.freedesktop.portal.Request"})
class Request(QObject):
    """The portal's Request object; its signal goes out as D-Bus signature ua{sv}."""

    Response = Signal("uint", "QVariantMap")


@ClassInfo({"D-Bus Interface": "org.freedesktop.portal.Screenshot"})
class Screenshot(QObject):
    """The Screenshot interface: records the options, answers with `response` and `uri`."""

    def __init__(self, bus: QDBusConnection, response: int, uri: str) -> None:
        super().__init__()
        self.bus, self.response, self.uri = bus, response, uri
        self.requests: list[Request] = []

    @Slot(str, "QVariantMap", QDBusMessage)
    def Screenshot(self, parent: str, options: dict[str, object], message: QDBusMessage) -> None:  # noqa: N802 (D-Bus name)
        print(f"asked interactive={options.get('interactive')}", flush=True)
        sender = message.service().lstrip(":").replace(".", "_")
        path = f"/org/freedesktop/portal/desktop/request/{sender}/{options['handle_token']}"
        request = Request()
        self.requests.append(request)
        self.bus.registerObject(path, request, EXPORT_SIGNALS)
        results = {"uri": self.uri} if self.response == 0 else {}
        QTimer.singleShot(20, lambda: request.Response.emit(self.response, results))


def main() -> int:
    app = QCoreApplication(sys.argv[:1])
    bus = QDBusConnection.sessionBus()
    portal = Screenshot(bus, int(sys.argv[1]), sys.argv[2])
    if not bus.registerObject("/org/freedesktop/portal/desktop", portal, EXPORT_SLOTS):
        return 1
    if not bus.registerService("org.freedesktop.portal.Desktop"):
        return 1
    print("ready", flush=True)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
