"""Run by test_portal.py on a private D-Bus session bus: ask the portal, print the outcome."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.ui.capture.portal_screenshot import PortalScreenshot


def main() -> int:
    app = QApplication(sys.argv[:1])
    portal = PortalScreenshot()
    outcome: list[str] = []

    def end(text: str) -> None:
        outcome.append(text)
        app.quit()

    portal.failed.connect(lambda sentence: end(f"failed: {sentence}"))
    portal.cancelled.connect(lambda: end("cancelled"))
    portal.taken.connect(lambda image: end(f"taken: {image.width()}x{image.height()}"))
    QTimer.singleShot(0, portal.request)
    QTimer.singleShot(10_000, lambda: end("no answer"))
    app.exec()
    print(outcome[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
