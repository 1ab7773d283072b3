"""Opening the store does not import pandas (sqlite-utils would), and pandas still imports after."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

CHECK = """
import sys
from studio.store import open_db, runs
db = open_db(sys.argv[1])
run_id = runs.create_run(db, name="a", config={}, model="m", method="lora", task="causal-lm", max_steps=3)
loaded_early = "pandas" in sys.modules
import pandas  # datasets (in the worker) imports it later: that must still work
print(loaded_early, runs.get_run(db, run_id)["name"], pandas.Timestamp(0).year)
"""


def test_the_store_opens_without_pandas_and_pandas_still_imports_later(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-P", "-c", CHECK, str(tmp_path / "studio.db")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "a", "1970"]
