"""The Export dialog's GGUF choice (quantisation with an estimated size, the `studio export --gguf`
call, progress through merge → convert → quantise → verify, the verification result) and the Adapters
page listing an adapter's exports with their state. A fake CliCall stands in for the child process."""
from __future__ import annotations

from PySide6.QtCore import Qt

from studio.store.exports import record_export
from studio.ui.widgets.export_dialog import size_text, verification_text
from tests.ui.test_adapters_page import build, fake_cli, register  # noqa: F401 - fake_cli is a fixture

VERIFIED = {"verified": True, "agreement": 0.975, "max_logit_diff": 0.071, "reason": None,
            "tolerance": {"min_token_agreement": 0.9}, "warnings": []}


def test_gguf_choice_runs_studio_export_and_shows_the_check(qtbot, store, home, fake_cli, tmp_path):
    register(store, home, "pirate", total_params=134_515_008)
    out = tmp_path / "pirate-q4_0.gguf"
    fake_cli.answers["export"] = ({"path": str(out), "format": "gguf", "quant": "q4_0",
                                   "files": [out.name, "pirate-q4_0.Modelfile"], "verification": VERIFIED}, None)
    page = build(qtbot, store, home)
    page.select("pirate")
    page.export_selected()
    dialog = page.dialog
    assert dialog.gguf.isEnabled() and not dialog.quant.isEnabled()
    dialog.gguf.setChecked(True)
    assert dialog.quant.isEnabled() and not dialog.dtype.isEnabled()
    assert dialog.out.text().endswith("pirate-q8_0.gguf")  # the suggested name follows the choice
    q8 = dialog.size.text()
    dialog.quant.setCurrentText("q4_0")
    assert dialog.out.text().endswith("pirate-q4_0.gguf") and dialog.size.text() == "≈ 76 MB" != q8
    dialog.out.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        pass
    assert fake_cli.calls[-1] == ["export", "pirate", "--gguf", str(out), "--quant", "q4_0", "--json"]
    assert "Verified" in dialog.status.text() and "97.5%" in dialog.status.text()
    assert "Ollama Modelfile" in dialog.status.text()


def test_unverified_result_says_why(qtbot, store, home, fake_cli, tmp_path):
    register(store, home, "pirate")
    record = {"verified": False, "reason": "the chat template is missing from the GGUF metadata",
              "agreement": 1.0, "max_logit_diff": 0.0, "warnings": ["Ollama template: unknown"]}
    fake_cli.answers["export"] = ({"path": str(tmp_path / "x.gguf"), "format": "gguf", "files": ["x.gguf"],
                                   "verification": record}, None)
    page = build(qtbot, store, home)
    page.select("pirate")
    page.export_selected()
    dialog = page.dialog
    dialog.gguf.setChecked(True)
    dialog.out.setText(str(tmp_path / "x.gguf"))
    dialog.start()
    qtbot.waitUntil(lambda: "Unverified: the chat template is missing" in dialog.status.text())
    assert "Ollama template: unknown" in dialog.status.text() and dialog.verified is False


def test_gguf_is_refused_up_front_for_a_classifier_and_bad_names(qtbot, store, home, fake_cli, tmp_path):
    register(store, home, "topics")
    store.execute("UPDATE adapters SET task = 'classification' WHERE name = 'topics'")
    page = build(qtbot, store, home)
    page.select("topics")
    page.export_selected()
    assert not page.dialog.gguf.isEnabled()
    register(store, home, "pirate")
    page.refresh()
    page.select("pirate")
    page.export_selected()
    dialog = page.dialog
    dialog.gguf.setChecked(True)
    dialog.out.setText(str(tmp_path / "model.bin"))
    dialog.start()
    assert "ending in .gguf" in dialog.status.text() and fake_cli.calls == []


def test_adapters_page_lists_exports_with_their_state(qtbot, store, home):
    register(store, home, "pirate")
    record_export(store, adapter="pirate", format="merged", quant="bf16", path="/x/merged", size_bytes=10,
                  verification=VERIFIED)
    record_export(store, adapter="pirate", format="gguf", quant="q4_0", path="/x/p.gguf", size_bytes=5,
                  verification={"verified": False, "reason": "token agreement 0.400 < 0.6"})
    page = build(qtbot, store, home)
    page.select("pirate")
    shown = page.detail.facts["Exports"].text()
    assert shown.index("GGUF q4_0") < shown.index("merged bf16")  # newest first
    assert "✗ unverified: token agreement 0.400 &lt; 0.6" in shown and "✓ verified, 98% agreement" in shown


def test_texts():
    assert size_text(None, "q8_0") == "" and size_text(2_000_000_000, "f16") == "≈ 4.00 GB"
    assert verification_text(None) == "Not verified."
    assert verification_text({"verified": True, "labels": [1], "agreement": 1.0}).startswith(
        "Verified: reloaded and compared with the adapter (label agreement 100.0%")


def test_the_dialog_names_gguf_and_grows_for_progress_and_result(qtbot, store, home, fake_cli, tmp_path):
    register(store, home, "pirate", total_params=134_515_008)
    out = tmp_path / "pirate-q8_0.gguf"
    fake_cli.answers["export"] = ({"path": str(out), "format": "gguf", "quant": "q8_0",
                                   "files": [out.name, "pirate-q8_0.Modelfile"], "verification": VERIFIED}, None)
    page = build(qtbot, store, home)
    page.select("pirate")
    page.export_selected()
    dialog = page.dialog
    assert "GGUF: merged, converted and quantised" in dialog.explain.text()
    dialog.gguf.setChecked(True)
    dialog.out.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.height() >= dialog.sizeHint().height()  # the progress row does not squeeze the form
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        pass
    assert dialog.height() >= dialog.sizeHint().height()  # nor do the result lines
