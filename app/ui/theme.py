"""Colours, fonts and style sheets: the look of the window in one place."""

from __future__ import annotations

import sys
from functools import lru_cache

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

ACCENT = "#5b4bdb"
ACCENT_HOVER = "#4a3bc4"
TEXT = "#1f2328"
MUTED = "#656d76"
BORDER = "#d8dee4"
WINDOW_BG = "#f6f7f9"
TRANSCRIPT_BG = "#ffffff"
USER_BUBBLE = "#eef1ff"
ERROR_BG = "#fff1f0"
ERROR_BORDER = "#f5b5ae"
CODE_BG = "#f6f8fa"
CODE_HEAD_BG = "#eaeef2"

# Families tried in order on Linux, where the default is often a bare fallback; the
# Noto fonts cover Arabic, Devanagari and Thai as well as Latin.
_LINUX_FAMILIES = ["Inter", "Noto Sans", "Cantarell", "DejaVu Sans"]
_MONO_FAMILIES = ["JetBrains Mono", "Cascadia Mono", "Menlo", "Noto Sans Mono", "DejaVu Sans Mono"]


def apply_app_font(app: QApplication) -> None:
    font = app.font()
    if sys.platform.startswith("linux"):
        font.setFamilies(_LINUX_FAMILIES)
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)


def mono_font() -> QFont:
    font = QFont()
    font.setFamilies(_MONO_FAMILIES)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


@lru_cache(maxsize=1)
def document_style_sheet() -> str:
    """CSS for every rendered message (Qt's rich-text subset)."""
    mono = ", ".join(f"'{family}'" for family in _MONO_FAMILIES) + ", monospace"
    return f"""
p {{ margin-top: 0px; margin-bottom: 10px; line-height: 135%; }}
li {{ margin-bottom: 3px; }}
ul, ol {{ margin-top: 0px; margin-bottom: 10px; }}
h1, h2, h3, h4 {{ margin-top: 6px; margin-bottom: 8px; }}
h1 {{ font-size: x-large; }} h2 {{ font-size: large; }} h3 {{ font-size: medium; }}
a {{ color: {ACCENT}; }}
code {{ font-family: {mono}; background-color: {CODE_BG}; }}
pre {{ font-family: {mono}; }}
blockquote {{ color: {MUTED}; margin-left: 12px; }}
table.code {{ background-color: {CODE_BG}; border-color: {BORDER};
             margin-top: 2px; margin-bottom: 12px; }}
td.code-head {{ background-color: {CODE_HEAD_BG}; padding: 4px 10px; color: {MUTED}; }}
td.code-body {{ padding: 8px 10px; }}
pre.code {{ white-space: pre-wrap; margin: 0px; }}
a.copy {{ color: {ACCENT}; text-decoration: none; }}
table.md {{ border-color: {BORDER}; margin-bottom: 12px; }}
table.md th {{ background-color: {CODE_BG}; padding: 5px 10px; }}
table.md td {{ padding: 5px 10px; }}
"""


def window_style_sheet() -> str:
    """The Qt style sheet of the main window and its widgets."""
    return f"""
QMainWindow, #centralArea {{ background: {WINDOW_BG}; }}
#transcriptViewport, #transcriptColumn {{ background: {TRANSCRIPT_BG}; }}
QScrollArea#transcript {{ border: none; background: {TRANSCRIPT_BG}; }}
#userBubble {{ background: {USER_BUBBLE}; border-radius: 14px; }}
#roleLabel {{ color: {TEXT}; font-weight: 600; }}
#avatar {{ background: {ACCENT}; color: white; border-radius: 13px; font-weight: 700; }}
#statusTag {{ color: #9a6700; background: #fff8c5; border-radius: 8px; padding: 1px 8px; }}
#statusTag[failed="true"] {{ color: #cf222e; background: {ERROR_BG}; }}
QToolButton#messageAction {{ color: {MUTED}; border: none; padding: 3px 8px; border-radius: 6px; }}
QToolButton#messageAction:hover, QToolButton#messageAction:focus {{
    background: #eef0f3; color: {TEXT}; }}
#errorBlock {{ background: {ERROR_BG}; border: 1px solid {ERROR_BORDER}; border-radius: 10px; }}
#errorText {{ color: #82071e; }}
#composerBox {{ background: white; border: 1px solid {BORDER}; border-radius: 14px; }}
QPlainTextEdit#composerInput {{ border: none; background: transparent; }}
#composerNotice {{ color: #cf222e; }}
#attachmentChip {{ background: {WINDOW_BG}; border: 1px solid {BORDER}; border-radius: 10px; }}
#chipName {{ color: {TEXT}; font-weight: 600; }}
#chipFacts {{ color: {MUTED}; }}
QToolButton#chipRemove {{ border: none; border-radius: 9px; color: {MUTED}; }}
QToolButton#chipRemove:hover, QToolButton#chipRemove:focus {{ background: #e1e4e8; color: {TEXT}; }}
QPushButton#sendButton {{ background: {ACCENT}; color: white; border: none; border-radius: 9px;
    padding: 7px 18px; font-weight: 600; }}
QPushButton#sendButton:hover, QPushButton#sendButton:focus {{ background: {ACCENT_HOVER}; }}
QPushButton#sendButton:disabled {{ background: #b9b3ef; }}
QPushButton#sendButton[stop="true"] {{ background: #2d333b; }}
QToolButton#attachButton {{ border: none; border-radius: 8px; padding: 5px 10px; color: {MUTED}; }}
QToolButton#attachButton:hover, QToolButton#attachButton:focus {{
    background: #eef0f3; color: {TEXT}; }}
QPushButton#jumpButton {{ background: white; border: 1px solid {BORDER}; border-radius: 14px;
    padding: 5px 14px; color: {TEXT}; }}
#emptyTitle {{ color: {TEXT}; font-size: 20pt; font-weight: 600; }}
#emptyHint {{ color: {MUTED}; }}
QStatusBar {{ background: {WINDOW_BG}; color: {MUTED}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
#modelLabel {{ color: {TEXT}; font-weight: 600; }}
#demoTag {{ color: #9a6700; background: #fff8c5; border-radius: 7px; padding: 0 7px; }}
QToolBar {{ background: {WINDOW_BG}; border: none; spacing: 4px; padding: 4px 8px; }}
QToolBar QToolButton {{ border-radius: 7px; padding: 4px 10px; color: {TEXT}; }}
QToolBar QToolButton:hover, QToolBar QToolButton:checked {{ background: #e6e8ec; }}
#settingsPanel {{ background: white; border-left: 1px solid {BORDER}; }}
#settingsTitle {{ font-weight: 600; font-size: 12pt; }}
"""
