"""A vertical scroll area that is never narrower than its content, so a form never scrolls sideways."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import QScrollArea


class FitWidthScrollArea(QScrollArea):
    """Scrolls up and down only: its minimum width is the content's plus the vertical scroll bar."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.setWidgetResizable(True)

    def minimumSizeHint(self) -> QSize:
        """The base hint, widened to the content's minimum width (a squeezed form cut its combo boxes)."""
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is None:
            return hint
        width = inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(max(hint.width(), width), hint.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A box shown or hidden inside (the preference settings) changes the content's width: re-ask the layout.
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)
