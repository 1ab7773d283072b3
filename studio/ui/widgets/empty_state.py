"""An empty page's message: an icon, what is missing, what to do next, and a button that does it."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from studio.ui.widgets.nav_icons import nav_icon

ICON_PX = 56
HINT_WIDTH = 480


class EmptyState(QWidget):
    """Centred icon, title, hint and an optional action button (its click is `action`)."""

    action = Signal()

    def __init__(self, icon: str, title: str, hint: str, button: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icon_name = icon
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(title)
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setWeight(font.Weight.DemiBold)
        self.title.setFont(font)
        self.hint = QLabel(hint)
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A fixed width: a word-wrapped label centred by the layout would otherwise shrink to one word.
        self.hint.setFixedWidth(HINT_WIDTH)
        self._fit_hint()
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton(button or "")
        self.button.setVisible(bool(button))
        self.button.setDefault(True)
        self.button.setMinimumHeight(32)
        self.button.clicked.connect(self.action)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.icon)
        layout.addSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.hint, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(10)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
        self._paint_icon()

    def set_text(self, title: str, hint: str) -> None:
        """Change what it says (e.g. 'no matches' against 'nothing yet')."""
        self.title.setText(title)
        self.hint.setText(hint)
        self._fit_hint()

    def _fit_hint(self) -> None:
        # The layout asks a centred label for its plain size hint, not its height at this width: the
        # last lines were cut. Fix the height to what the wrapped text needs.
        self.hint.setFixedHeight(self.hint.heightForWidth(HINT_WIDTH))

    def _paint_icon(self) -> None:
        icon = nav_icon(self._icon_name, self.palette())
        if icon is not None:
            # Greyed (Disabled mode): the drawing is decoration, quieter than the text.
            self.icon.setPixmap(icon.pixmap(QSize(ICON_PX, ICON_PX), QIcon.Mode.Disabled))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._fit_hint()
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_icon()  # the drawing follows the theme
        super().changeEvent(event)

