"""Where the studio keeps its data: STUDIO_HOME (or --home), else the platform's user data dir."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "STUDIO_HOME"


@dataclass(frozen=True)
class Home:
    """The data home: studio.db, runs/<id>/, adapters/<name>/, models/."""

    root: Path

    @property
    def db_path(self) -> Path:
        """The SQLite database, the single source of truth."""
        return self.root / "studio.db"

    @property
    def runs_dir(self) -> Path:
        """Parent of every run's folder."""
        return self.root / "runs"

    @property
    def adapters_dir(self) -> Path:
        """Parent of every saved adapter's folder."""
        return self.root / "adapters"

    @property
    def models_dir(self) -> Path:
        """Converted models (e.g. GGUF files turned into safetensors folders)."""
        return self.root / "models"

    def run_dir(self, run_id: int) -> Path:
        """Folder of one run: config.yaml, checkpoints/, worker.log."""
        return self.runs_dir / str(run_id)

    def adapter_dir(self, name: str) -> Path:
        """Folder of one saved adapter."""
        return self.adapters_dir / name

    def ensure(self) -> "Home":
        """Create the layout's folders if missing."""
        for d in (self.root, self.runs_dir, self.adapters_dir, self.models_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def resolve_home(cli_home: str | os.PathLike | None = None) -> Home:
    """--home beats STUDIO_HOME beats the platform's user data dir."""
    if cli_home:
        return Home(Path(cli_home).expanduser().resolve())
    if os.environ.get(ENV_VAR):
        return Home(Path(os.environ[ENV_VAR]).expanduser().resolve())
    from platformdirs import user_data_dir

    return Home(Path(user_data_dir("fine-tuning-studio", appauthor=False)))
