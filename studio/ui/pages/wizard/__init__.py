"""The New run wizard: Model → Data → Method → Training → Review (the page is in page.py, each step in
its own module, the shared state in state.py)."""
from studio.ui.pages.wizard.page import WizardPage

__all__ = ["WizardPage"]
