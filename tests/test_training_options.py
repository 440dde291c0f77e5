"""The reader's training command: a run stopped where a shipped reader was taken is reproduced by its model card's
command (no training here: only the options and the card's command are checked); the shipped card is the one the
export and the calibration write, so that writing it again loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.read import READER_FILE
from training.export import _reproduce, model_card
from training.train_reader import parse_args

NEWS_RUN = ["--news", "../shared/data/news", "--wiki-fraction", "0.15", "--init", "/tmp/reader-before/models/reader"]


def _card_command(argv: list[str]) -> str:
    return _reproduce({k: str(v) for k, v in vars(parse_args(argv)).items()})


def test_a_run_stopped_early_says_so_in_its_card_command():
    command = _card_command([*NEWS_RUN, "--stop-after", "1800"])
    assert command.endswith("--init /tmp/reader-before/models/reader --stop-after 1800")


def test_a_run_to_its_end_has_no_stop_in_its_card_command():
    assert "--stop-after" not in _card_command(NEWS_RUN)


@pytest.mark.parametrize("steps", ["0", "-5"])
def test_stop_after_must_be_a_positive_step(steps, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--stop-after", steps])
    assert "--stop-after must be a positive integer" in capsys.readouterr().err


def test_the_shipped_model_card_is_what_the_export_writes_from_reader_json():
    # anything written into the card by hand (the notes on what was measured and not shipped) lives in
    # reader.json, which the export and the calibration write the card from
    reader_dir = Path(__file__).resolve().parent.parent / "models" / "reader"
    meta = json.loads((reader_dir / READER_FILE).read_text(encoding="utf-8"))
    card = (reader_dir / "README.md").read_text(encoding="utf-8")
    assert card == model_card(meta)
    assert all(note in card for note in meta.get("notes", []))
