"""The Server form's preset part: which provider, its fill-ins, headers and query parameters.

Choosing a preset (`app.engines.presets`) fills the form's address, model and key
variable; this widget keeps what the form has no field for (the header the key goes
in, the provider's image limit and context window) and shows the provider's
headers and query parameters as editable text, ``Name: value`` one per ``;``.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from app.engines.presets import PRESETS, Preset, preset_named

CUSTOM = ""  # the combo box's data for "no preset"
SECRET_HEADERS = {"authorization", "api-key", "x-api-key"}


class PresetFormError(ValueError):
    """The headers or query text cannot be read; the message says what to change."""


def pairs_text(pairs: Mapping[str, str], joiner: str, sep: str) -> str:
    return sep.join(f"{name}{joiner}{value}" for name, value in pairs.items())


def parse_pairs(text: str, joiner: str, sep: str, what: str) -> dict[str, str]:
    """`Name: value; Name2: value` (or `a=b&c=d`) as a dict; `PresetFormError` if malformed."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(sep))):
        name, found, value = item.partition(joiner)
        if not found or not name.strip():
            raise PresetFormError(
                f"The {what} “{item}” needs a name and a value, as name{joiner}value."
            )
        pairs[name.strip()] = value.strip()
    return pairs


class PresetFields(QObject):
    """The preset picker and the rows it adds to the Server form (whose widgets are `parent`'s)."""

    preset_chosen = Signal(object)  # Preset, or None for Custom

    def __init__(self, form: QFormLayout, parent: QWidget) -> None:
        super().__init__(parent)
        self.picker = QComboBox(parent)
        self.picker.setAccessibleName("Server preset")
        self.picker.addItem("Custom server", CUSTOM)
        for preset in PRESETS:
            self.picker.addItem(preset.title, preset.name)
        self.fill_label = QLabel(parent)
        self.fill_in = QLineEdit(parent)
        self.fill_in.setAccessibleName("Preset fill-in")
        self.headers = QLineEdit(parent)
        self.headers.setAccessibleName("Extra request headers")
        self.headers.setPlaceholderText("Name: value; Name2: value (never the key)")
        self.query = QLineEdit(parent)
        self.query.setAccessibleName("Query parameters")
        self.query.setPlaceholderText("name=value&name2=value")
        self.hint = QLabel(parent)
        self.hint.setAccessibleName("About this preset")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #656d76;")
        self.api_key_header: str | None = None
        self.max_images: int | None = None
        self.context_tokens: int | None = None
        form.addRow("Preset", self.picker)
        form.addRow(self.fill_label, self.fill_in)
        form.addRow("Headers", self.headers)
        form.addRow("Query", self.query)
        form.addRow("", self.hint)
        self._form = form
        self._show_fill_in(None)
        self.picker.activated.connect(self._on_picker_activated)

    @property
    def preset(self) -> Preset | None:
        name = self.picker.currentData()
        return preset_named(name) if name else None

    def address(self, typed: str) -> str:
        """The address to use: the preset's with its fill-in, if it has one, else `typed`."""
        preset = self.preset
        if preset is None or not preset.placeholders:
            return typed
        value = self.fill_in.text().strip()
        return preset.base_url.format(**{preset.placeholders[0]: value}) if value else typed

    def show_saved(
        self,
        preset: str | None,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        api_key_header: str | None,
        max_images: int | None,
        context_tokens: int | None,
    ) -> None:
        """Show saved settings: select their preset (if still known), keep its extras."""
        index = self.picker.findData(preset or CUSTOM)
        self.picker.setCurrentIndex(max(0, index))
        self.headers.setText(pairs_text(headers, ": ", "; "))
        self.query.setText(pairs_text(query, "=", "&"))
        self.api_key_header, self.max_images = api_key_header, max_images
        self.context_tokens = context_tokens
        self._show_fill_in(self.preset)
        self._show_hint(self.preset)

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and query parameters; `PresetFormError` if they cannot be read."""
        headers = parse_pairs(self.headers.text(), ":", ";", "header")
        secret = SECRET_HEADERS | {(self.api_key_header or "").lower()}
        for name in headers:
            if name.lower() in secret:
                raise PresetFormError(
                    f"The header {name} would carry the key: put the key in an environment "
                    "variable and name it in API key variable instead."
                )
        return headers, parse_pairs(self.query.text(), "=", "&", "query parameter")

    # ------------------------------------------------------------ internals
    def _on_picker_activated(self, _index: int) -> None:
        preset = self.preset
        if preset is None:
            self.api_key_header = self.max_images = self.context_tokens = None
        else:
            self.headers.setText(pairs_text(preset.headers, ": ", "; "))
            self.query.setText(pairs_text(preset.query, "=", "&"))
            self.api_key_header = preset.api_key_header
            self.max_images, self.context_tokens = preset.max_images, preset.context_tokens
            self.fill_in.clear()
        self._show_fill_in(preset)
        self._show_hint(preset)
        self.preset_chosen.emit(preset)

    def _show_fill_in(self, preset: Preset | None) -> None:
        name = preset.placeholders[0] if preset is not None and preset.placeholders else ""
        self.fill_label.setText(f"{{{name}}}" if name else "")
        self.fill_in.setPlaceholderText(f"fills {{{name}}} in {preset.base_url}" if preset else "")
        self._form.setRowVisible(self.fill_in, bool(name))

    def _show_hint(self, preset: Preset | None) -> None:
        if preset is None:
            self.hint.setText("")
            return
        optional = (
            f" Optional headers: {', '.join(preset.optional_headers)}."
            if preset.optional_headers
            else ""
        )
        privacy = " Text and images leave this machine." if preset.hosted else ""
        self.hint.setText(
            f"{preset.max_images} images per request, context {preset.context_tokens:,} tokens "
            f"({preset.context_source}).{optional}{privacy} {preset.note}".strip()
        )
