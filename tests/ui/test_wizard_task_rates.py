"""The wizard starts a method at its rate for the run's task (`studio methods --json` learning_rates),
and the method card lists the rates where the tasks differ."""
from __future__ import annotations

import json

from studio.ui.pages.wizard.method_step import rates_text
from studio.ui.pages.wizard.training_step import task_rate

LORA = {"name": "lora", "learning_rate": 2e-4,
        "learning_rates": {"causal-lm": 2e-4, "classification": 2e-3, "preference": 2e-4}}


def test_the_training_step_takes_the_tasks_rate():
    assert task_rate(LORA, "classification") == 2e-3
    assert task_rate(LORA, "causal-lm") == 2e-4
    # a method list without per-task rates (an older child) still gives the method's own rate
    assert task_rate({"learning_rate": 1e-3}, "classification") == 1e-3


def test_the_card_names_each_tasks_rate_only_where_they_differ():
    assert rates_text(LORA) == "0.0002 causal-lm, 0.002 classification, 0.0002 preference"
    same = {"learning_rate": 0.3, "learning_rates": {"causal-lm": 0.3, "classification": 0.3}}
    assert rates_text(same) == "0.3"


def test_studio_methods_json_carries_the_rate_per_task(capsys):
    from argparse import Namespace

    from studio.commands.methods import run_methods

    assert run_methods(Namespace(json=True), None, None) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["lora"]["learning_rates"] == LORA["learning_rates"]
    assert rows["prompt"]["learning_rates"]["classification"] == 0.3
