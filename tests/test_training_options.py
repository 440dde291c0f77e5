"""The reader's training command: a run stopped where a shipped reader was taken is reproduced by its model card's
command (no training here: only the options and the card's command are checked)."""

from __future__ import annotations

import pytest

from training.export import _reproduce
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
