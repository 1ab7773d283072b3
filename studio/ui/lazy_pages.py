"""Pages built the first time they are shown, so the window is up before pages it does not show.

Each page module is imported and its widget constructed on first use (the Models page alone costs a
cache scan, the wizard a form per step); until then the stack holds an empty placeholder.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from PySide6.QtWidgets import QStackedWidget, QWidget


class LazyPages(Mapping[str, QWidget]):
    """name → page, in navigation order; looking a page up builds it (once) into its stack slot."""

    def __init__(self, factories: dict[str, Callable[[], QWidget]], stack: QStackedWidget,
                 on_built: Callable[[str, QWidget], None]) -> None:
        self._factories, self._stack, self._on_built = dict(factories), stack, on_built
        self._built: dict[str, QWidget] = {}
        for _ in self._factories:
            stack.addWidget(QWidget())  # placeholder until the page is first wanted

    def __getitem__(self, name: str) -> QWidget:
        if name not in self._built:
            factory = self._factories[name]  # KeyError for an unknown page, as a dict would
            page = factory()
            index = list(self._factories).index(name)
            placeholder = self._stack.widget(index)
            current = self._stack.currentIndex()
            self._stack.insertWidget(index, page)
            self._stack.removeWidget(placeholder)
            placeholder.deleteLater()
            self._stack.setCurrentIndex(current)
            self._built[name] = page
            self._on_built(name, page)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def pending(self) -> list[str]:
        """Pages not built yet, in navigation order."""
        return [name for name in self._factories if name not in self._built]

    def built(self) -> dict[str, QWidget]:
        """The pages constructed so far (saving the layout must not build the others)."""
        return dict(self._built)
