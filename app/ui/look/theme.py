"""Colours, fonts and style sheets: the look of the window in one place."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Palette:
    """The colours of one theme; `code_style` is the Pygments style for code blocks."""

    name: str
    accent: str
    accent_hover: str
    accent_disabled: str
    text: str
    muted: str
    border: str
    window_bg: str
    transcript_bg: str
    surface: str  # the composer, chips, panels
    hover_bg: str
    user_bubble: str
    error_bg: str
    error_border: str
    error_text: str
    danger: str
    tag_fg: str
    tag_bg: str
    code_bg: str
    code_head_bg: str
    stop_bg: str
    code_style: str
    dark: bool


LIGHT = Palette(
    name="light", accent="#5b4bdb", accent_hover="#4a3bc4", accent_disabled="#b9b3ef",
    text="#1f2328", muted="#656d76", border="#d8dee4", window_bg="#f6f7f9",
    transcript_bg="#ffffff", surface="#ffffff", hover_bg="#eef0f3", user_bubble="#eef1ff",
    error_bg="#fff1f0", error_border="#f5b5ae", error_text="#82071e", danger="#cf222e",
    tag_fg="#9a6700", tag_bg="#fff8c5", code_bg="#f6f8fa", code_head_bg="#eaeef2",
    stop_bg="#2d333b", code_style="friendly", dark=False,
)  # fmt: skip
DARK = Palette(
    name="dark", accent="#8b7ff0", accent_hover="#7a6de6", accent_disabled="#4b4570",
    text="#e6edf3", muted="#9198a1", border="#3d444d", window_bg="#151b23",
    transcript_bg="#0d1117", surface="#1c2129", hover_bg="#262c36", user_bubble="#25233f",
    error_bg="#3c1618", error_border="#8e1519", error_text="#ffa198", danger="#f85149",
    tag_fg="#d29922", tag_bg="#3b2e0a", code_bg="#161b22", code_head_bg="#21262d",
    stop_bg="#6e7681", code_style="github-dark", dark=True,
)  # fmt: skip
THEMES = {"light": LIGHT, "dark": DARK}

_current = LIGHT


def current_palette() -> Palette:
    """The palette the window shows now (set by `ThemeController`)."""
    return _current


def set_current_palette(palette: Palette) -> None:
    global _current
    _current = palette


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


def document_style_sheet(palette: Palette | None = None) -> str:
    """CSS for every rendered message (Qt's rich-text subset), in `palette` or the current."""
    return _document_style_sheet(palette or _current)


@lru_cache(maxsize=4)
def _document_style_sheet(c: Palette) -> str:
    mono = ", ".join(f"'{family}'" for family in _MONO_FAMILIES) + ", monospace"
    return f"""
p {{ margin-top: 0px; margin-bottom: 10px; line-height: 135%; }}
li {{ margin-bottom: 3px; }}
ul, ol {{ margin-top: 0px; margin-bottom: 10px; }}
h1, h2, h3, h4 {{ margin-top: 6px; margin-bottom: 8px; }}
h1 {{ font-size: x-large; }} h2 {{ font-size: large; }} h3 {{ font-size: medium; }}
a {{ color: {c.accent}; }}
code {{ font-family: {mono}; background-color: {c.code_bg}; }}
pre {{ font-family: {mono}; }}
blockquote {{ color: {c.muted}; margin-left: 12px; }}
table.code {{ background-color: {c.code_bg}; border-color: {c.border};
             margin-top: 2px; margin-bottom: 12px; }}
td.code-head {{ background-color: {c.code_head_bg}; padding: 4px 10px; color: {c.muted}; }}
td.code-body {{ padding: 8px 10px; }}
pre.code {{ white-space: pre-wrap; margin: 0px; }}
a.copy {{ color: {c.accent}; text-decoration: none; }}
a.unsent {{ color: {c.danger}; }}
table.md {{ border-color: {c.border}; margin-bottom: 12px; }}
table.md th {{ background-color: {c.code_bg}; padding: 5px 10px; }}
table.md td {{ padding: 5px 10px; }}
"""


def window_style_sheet(palette: Palette | None = None, font_size: int | None = None) -> str:
    """The Qt style sheet of the main window and its widgets, in `palette` or the current.

    `font_size` (points) sizes the text of the messages and the message box.
    """
    c = palette or _current
    text_size = (
        "#transcriptColumn QTextBrowser, QPlainTextEdit#composerInput "
        f"{{ font-size: {font_size}pt; }}"
        if font_size
        else ""
    )
    return (
        text_size
        + f"""
QMainWindow, #centralArea {{ background: {c.window_bg}; }}
#transcriptViewport, #transcriptColumn {{ background: {c.transcript_bg}; }}
QScrollArea#transcript {{ border: none; background: {c.transcript_bg}; }}
#userBubble {{ background: {c.user_bubble}; border-radius: 14px; }}
#roleLabel {{ color: {c.text}; font-weight: 600; }}
#avatar {{ background: {c.accent}; color: white; border-radius: 13px; font-weight: 700; }}
#statusTag {{ color: {c.tag_fg}; background: {c.tag_bg}; border-radius: 8px; padding: 1px 8px; }}
#statusTag[failed="true"] {{ color: {c.danger}; background: {c.error_bg}; }}
QToolButton#messageAction {{ color: {c.muted}; border: none; padding: 3px 8px;
    border-radius: 6px; }}
QToolButton#messageAction:hover, QToolButton#messageAction:focus {{
    background: {c.hover_bg}; color: {c.text}; }}
#errorBlock {{ background: {c.error_bg}; border: 1px solid {c.error_border}; border-radius: 10px; }}
#errorText {{ color: {c.error_text}; }}
#composerBox {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 14px; }}
QPlainTextEdit#composerInput {{ border: none; background: transparent; }}
#composerNotice {{ color: {c.danger}; }}
#attachmentChip {{ background: {c.window_bg}; border: 1px solid {c.border}; border-radius: 10px; }}
#chipName {{ color: {c.text}; font-weight: 600; }}
#chipFacts {{ color: {c.muted}; }}
QToolButton#chipRemove {{ border: none; border-radius: 9px; color: {c.muted}; }}
QToolButton#chipRemove:hover, QToolButton#chipRemove:focus {{
    background: {c.hover_bg}; color: {c.text}; }}
QPushButton#sendButton {{ background: {c.accent}; color: white; border: none; border-radius: 9px;
    padding: 7px 18px; font-weight: 600; }}
QPushButton#sendButton:hover, QPushButton#sendButton:focus {{ background: {c.accent_hover}; }}
QPushButton#sendButton:disabled {{ background: {c.accent_disabled}; }}
QPushButton#sendButton[stop="true"] {{ background: {c.stop_bg}; }}
QToolButton#attachButton {{ border: none; border-radius: 8px; padding: 5px 10px;
    color: {c.muted}; }}
QToolButton#attachButton:hover, QToolButton#attachButton:focus {{
    background: {c.hover_bg}; color: {c.text}; }}
QPushButton#jumpButton {{ background: {c.surface}; border: 1px solid {c.border};
    border-radius: 14px; padding: 5px 14px; color: {c.text}; }}
#emptyTitle {{ color: {c.text}; font-size: 20pt; font-weight: 600; }}
#emptyHint {{ color: {c.muted}; }}
QStatusBar {{ background: {c.window_bg}; color: {c.muted}; }}
QStatusBar QLabel {{ color: {c.muted}; padding: 0 6px; }}
#modelLabel {{ color: {c.text}; font-weight: 600; }}
#demoTag {{ color: {c.tag_fg}; background: {c.tag_bg}; border-radius: 7px; padding: 0 7px; }}
QToolBar {{ background: {c.window_bg}; border: none; spacing: 4px; padding: 4px 8px; }}
QToolBar QToolButton {{ border-radius: 7px; padding: 4px 10px; color: {c.text}; }}
QToolBar QToolButton:hover, QToolBar QToolButton:checked {{ background: {c.hover_bg}; }}
#settingsPanel {{ background: {c.surface}; border-left: 1px solid {c.border}; }}
#settingsTitle {{ font-weight: 600; font-size: 12pt; }}
QMenuBar {{ background: {c.window_bg}; color: {c.text}; }}
QMenuBar::item:selected {{ background: {c.hover_bg}; }}
#conversationSidebar {{ background: {c.window_bg}; border-right: 1px solid {c.border}; }}
#sidebarTitle {{ color: {c.text}; font-weight: 600; }}
#sidebarHint {{ color: {c.muted}; padding: 6px 12px; }}
QLineEdit#searchBox {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
    border-radius: 8px; padding: 5px 8px; }}
QLineEdit#searchBox:focus {{ border-color: {c.accent}; }}
#conversationSidebar QListWidget {{ background: transparent; border: none; outline: none;
    padding: 0 6px; }}
#conversationSidebar QListWidget::item {{ color: {c.text}; padding: 7px 8px; border-radius: 8px;
    margin: 1px 0; }}
#conversationSidebar QListWidget::item:hover {{ background: {c.hover_bg}; }}
#conversationSidebar QListWidget::item:selected {{ background: {c.user_bubble}; color: {c.text}; }}
#noticeBar {{ background: {c.user_bubble}; border: 1px solid {c.border}; border-radius: 10px;
    margin: 0 10px; }}
#noticeText {{ color: {c.text}; }}
#noticeBar[problem="true"] {{ background: {c.error_bg}; border-color: {c.error_border}; }}
#noticeBar[problem="true"] #noticeText {{ color: {c.error_text}; }}
QToolButton#noticeAction {{ color: {c.accent}; font-weight: 600; border: none; padding: 2px 8px;
    border-radius: 6px; }}
QToolButton#noticeAction:hover, QToolButton#noticeAction:focus {{ background: {c.hover_bg}; }}
QToolButton#noticeClose, QToolButton#sidebarMenu, QToolButton#trashButton {{ border: none;
    color: {c.muted}; padding: 3px 8px; border-radius: 6px; }}
QToolButton#noticeClose:hover, QToolButton#sidebarMenu:hover, QToolButton#trashButton:hover,
QToolButton#trashButton:checked {{ background: {c.hover_bg}; color: {c.text}; }}
QToolButton#sidebarMenu::menu-indicator {{ image: none; }}
#contextBar {{ background: {c.border}; border: none; border-radius: 3px; }}
#contextBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
#contextBar[over="true"]::chunk {{ background: {c.danger}; }}
#contextLabel {{ color: {c.muted}; }}
#contextLabel[over="true"] {{ color: {c.danger}; font-weight: 600; }}
QToolButton#quickAction {{ color: {c.text}; background: {c.surface}; border: 1px solid {c.border};
    border-radius: 11px; padding: 2px 10px; }}
QToolButton#quickAction:hover, QToolButton#quickAction:focus {{ border-color: {c.accent};
    color: {c.accent}; }}
#aboutTitle {{ color: {c.text}; font-size: 16pt; font-weight: 600; }}
#aboutDetails {{ color: {c.text}; background: {c.surface}; border: 1px solid {c.border};
    border-radius: 8px; padding: 10px; }}
"""
    )


def qt_palette(c: Palette) -> QPalette:
    """The widget palette of a theme, for the controls the style sheet does not draw."""
    palette = QPalette()
    role = QPalette.ColorRole
    colours = {
        role.Window: c.window_bg,
        role.WindowText: c.text,
        role.Base: c.surface,
        role.AlternateBase: c.hover_bg,
        role.Text: c.text,
        role.PlaceholderText: c.muted,
        role.Button: c.surface if c.dark else c.window_bg,
        role.ButtonText: c.text,
        role.ToolTipBase: c.surface,
        role.ToolTipText: c.text,
        role.Highlight: c.accent,
        role.HighlightedText: "#ffffff",
        role.Link: c.accent,
        role.Mid: c.border,
        role.Midlight: c.hover_bg,
        role.Dark: c.border,
        role.Light: c.surface,
    }
    for colour_role, value in colours.items():
        palette.setColor(colour_role, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for colour_role in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(disabled, colour_role, QColor(c.muted))
    return palette
