"""What several test modules share: fixture paths, the fixture questions, helpers to run the CLI.

Test modules import from here, never from each other (or from conftest).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = FIXTURES / "articles"

ROOT = Path(__file__).resolve().parent.parent


def qa_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa.cli", *args]


def write_bulletins(folder: Path, number: int) -> Path:
    folder.mkdir()
    path = folder / "bulletins.jsonl"
    with open(path, "w") as out:
        for i in range(number):
            record = {"id": f"b{i}", "text": f"Bulletin {i}: the ferry on route {i} carried {i * 7 + 3} passengers."}
            out.write(json.dumps(record) + "\n")
    return folder


FACTOIDS = [
    ("How much will the Port Alder bridge cost?", "$45 million"),
    ("Who is the mayor of Port Alder?", "Elena Voss"),
    ("Which firm designed the harbor bridge?", "Kestrel Works"),
    ("How many vehicles will the bridge carry a day?", "18,000"),
    ("When will construction of the bridge begin?", "June"),
    ("Who is the chief executive of Greenfield Energy?", "Rafael Ortiz"),
    ("How much did the solar farm cost?", "$210 million"),
    ("How many homes will the solar farm power?", "40,000"),
    ("Where was Greenfield Energy founded?", "Lisbon"),
    ("How many players did the tournament draw?", "240"),
    ("When did Amara Okafor start the firm?", "1998"),
    ("Where is Kestrel Works based?", "Bristol"),
    ("How much did the library repairs cost?", "$1.2 million"),
    ("By how much did coffee prices rise in May?", "14 percent"),
    ("How many books did the flood damage?", "12,000"),
    ("How many people does Kestrel Works employ?", "1,400"),
    ("What price did Arabica futures reach?", "$2.40"),
    ("How long will construction of the bridge take?", "three years"),
]
# Harder: the answer must be told from another name of the same kind in the same sentence.
HARDER = [
    ("Who won the Riverton Chess Open?", "Nadia Petrova"),
    ("Who founded Kestrel Works?", "Amara Okafor"),
    ("Why did coffee prices rise?", "drought in Brazil"),
    ("When did the Dunmore library reopen?", "8 January"),
]
UNANSWERABLE = [
    "What is the population of Tokyo?",
    "Who won the Nobel Prize in Literature?",
    "How tall is Mount Everest?",
    "Who is the president of France?",
    "Which team won the football league?",
]
