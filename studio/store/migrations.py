"""The database schema: its only home, as an ordered list of sqlite-utils migrations.

sqlite-utils 4 ships `sqlite_utils.migrations.Migrations` (the same API as the
sqlite-migrate package), so we use it: each migration runs once, inside a
transaction, and is recorded in the `_sqlite_migrations` table (migration_set,
name, applied_at).

RULE: a migration function is never edited once it has landed - databases in
the wild have already run it. Change the schema by appending a new migration.
For the same reason migrations hard-code their values (statuses, command kinds)
instead of importing constants that may change later.
"""
from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("studio")


@MIGRATIONS(name="m001_initial")
def m001_initial(db: sqlite_utils.Database) -> None:
    """Create runs, metrics, checkpoints, adapters and commands."""
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT,
            status TEXT NOT NULL CHECK (status IN (
                'queued', 'running', 'paused', 'completed',
                'failed', 'cancelled', 'crashed')),
            config TEXT,              -- JSON object
            model TEXT,
            method TEXT,
            task TEXT,
            pid INTEGER,
            pid_started_at REAL,      -- process create time: guards against pid reuse
            heartbeat_at REAL,
            created_at REAL,
            started_at REAL,
            finished_at REAL,
            error TEXT,
            step INTEGER DEFAULT 0,
            max_steps INTEGER,
            warnings TEXT NOT NULL DEFAULT '[]',  -- JSON list of strings
            run_dir TEXT
        )
        """
    )
    # AUTOINCREMENT so ids are never reused after delete_after_step() on resume:
    # a GUI polling with after_id would otherwise miss rows that reuse old ids.
    db.execute(
        """
        CREATE TABLE metrics (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            name TEXT NOT NULL,
            value REAL,
            wall_time REAL
        )
        """
    )
    db.execute("CREATE INDEX idx_metrics_run_name_step ON metrics (run_id, name, step)")
    db.execute("CREATE INDEX idx_metrics_run_id ON metrics (run_id, id)")
    db.execute(
        """
        CREATE TABLE checkpoints (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            path TEXT NOT NULL,
            created_at REAL,
            UNIQUE (run_id, step)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE adapters (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
            method TEXT,
            base_model TEXT,
            task TEXT,
            trainable_params INTEGER,
            total_params INTEGER,
            size_bytes INTEGER,
            metrics TEXT,             -- JSON object
            created_at REAL,
            notes TEXT,
            tags TEXT NOT NULL DEFAULT '[]'  -- JSON list of strings
        )
        """
    )
    db.execute(
        """
        CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('stop', 'pause')),
            created_at REAL,
            handled_at REAL
        )
        """
    )
    # The worker polls for its pending command every step.
    db.execute("CREATE INDEX idx_commands_run_pending ON commands (run_id, handled_at)")


@MIGRATIONS(name="m002_run_progress")
def m002_run_progress(db: sqlite_utils.Database) -> None:
    """What the worker is doing before steps start, and the run's parameter counts."""
    db.execute("ALTER TABLE runs ADD COLUMN stage TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN trainable_params INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN total_params INTEGER")


@MIGRATIONS(name="m003_model_folders")
def m003_model_folders(db: sqlite_utils.Database) -> None:
    """Folders the user added to the model browser (scanned for models besides the HF cache)."""
    db.execute("CREATE TABLE model_folders (path TEXT PRIMARY KEY, added_at REAL)")


@MIGRATIONS(name="m004_run_queue")
def m004_run_queue(db: sqlite_utils.Database) -> None:
    """The run queue: queued_at orders waiting runs, launched_at marks a worker being started."""
    db.execute("ALTER TABLE runs ADD COLUMN queued_at REAL")
    db.execute("ALTER TABLE runs ADD COLUMN launched_at REAL")
    db.execute("UPDATE runs SET queued_at = created_at")
    # Queued runs already handed to a worker are 'starting', not waiting: never launch them twice.
    db.execute("UPDATE runs SET launched_at = COALESCE(heartbeat_at, created_at) WHERE pid IS NOT NULL")


@MIGRATIONS(name="m005_adapter_library")
def m005_adapter_library(db: sqlite_utils.Database) -> None:
    """The adapter library: where an adapter came from, its data, its method settings."""
    db.execute("ALTER TABLE adapters ADD COLUMN source TEXT")      # trained | imported | merged
    db.execute("ALTER TABLE adapters ADD COLUMN dataset TEXT")     # the training data file(s)
    db.execute("ALTER TABLE adapters ADD COLUMN settings TEXT")    # JSON: r, alpha, targets, size ...
    db.execute("ALTER TABLE adapters ADD COLUMN imported_at REAL")
    db.execute("UPDATE adapters SET source = 'trained' WHERE run_id IS NOT NULL")


@MIGRATIONS(name="m006_comparisons")
def m006_comparisons(db: sqlite_utils.Database) -> None:
    """Side-by-side comparisons of adapters on one base: the grid, metrics and ratings, reopenable."""
    db.execute(
        """
        CREATE TABLE comparisons (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT,
            created_at REAL,
            base_model TEXT NOT NULL,
            task TEXT,
            adapters TEXT NOT NULL DEFAULT '[]',  -- JSON list of column names; 'base' = base only
            adapter_paths TEXT NOT NULL DEFAULT '{}',  -- JSON: column -> adapter folder
            prompts TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
            settings TEXT NOT NULL DEFAULT '{}',  -- JSON: max_new_tokens, seed, sampling ...
            eval_file TEXT,
            results TEXT NOT NULL DEFAULT '{}',   -- JSON: rows (grid cells), metrics, timings
            ratings TEXT NOT NULL DEFAULT '{}'    -- JSON: "ROW:COLUMN" -> rating
        )
        """
    )


@MIGRATIONS(name="m007_lr_finds")
def m007_lr_finds(db: sqlite_utils.Database) -> None:
    """Learning-rate range tests, keyed by the hash of what they depend on (core/lr_range.config_hash)."""
    db.execute(
        """
        CREATE TABLE lr_finds (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            config_hash TEXT NOT NULL,
            created_at REAL,
            model TEXT,
            method TEXT,
            suggested REAL,               -- NULL when the loss never fell
            result TEXT NOT NULL DEFAULT '{}'  -- JSON: the sweep (lrs, losses, smoothed) and both proposals
        )
        """
    )
    db.execute("CREATE INDEX idx_lr_finds_hash ON lr_finds (config_hash, created_at)")


@MIGRATIONS(name="m008_exports")
def m008_exports(db: sqlite_utils.Database) -> None:
    """Every export of an adapter (merged, adapter-only, GGUF) with the check that reloaded it."""
    db.execute(
        """
        CREATE TABLE exports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            adapter TEXT NOT NULL,            -- the library name (or folder) it was exported from
            format TEXT NOT NULL,             -- merged | adapter-only | gguf
            quant TEXT,                       -- dtype (merged) or GGUF type (f16, q8_0 ...); NULL adapter-only
            path TEXT NOT NULL,
            size_bytes INTEGER,
            verified INTEGER NOT NULL DEFAULT 0,
            agreement REAL,                   -- token (or label) agreement with the in-memory model, 0..1
            max_logit_diff REAL,
            tolerance TEXT NOT NULL DEFAULT '{}',  -- JSON: the thresholds this format is held to
            reason TEXT,                      -- why it is unverified (NULL when verified)
            details TEXT NOT NULL DEFAULT '{}',    -- JSON: the whole verification record
            created_at REAL
        )
        """
    )
    db.execute("CREATE INDEX idx_exports_adapter ON exports (adapter, created_at)")


@MIGRATIONS(name="m009_metric_row_per_step")
def m009_metric_row_per_step(db: sqlite_utils.Database) -> None:
    """One metric row per (run, name, step): 'epoch' was logged twice at every eval step."""
    # Keep the first row of each duplicate (the one a live monitor has already drawn).
    db.execute(
        "DELETE FROM metrics WHERE id NOT IN ("
        " SELECT MIN(id) FROM metrics GROUP BY run_id, name, step)"
    )
    db.execute("DROP INDEX IF EXISTS idx_metrics_run_name_step")  # the unique index serves its lookups
    db.execute("CREATE UNIQUE INDEX idx_metrics_run_name_step_unique ON metrics (run_id, name, step)")
