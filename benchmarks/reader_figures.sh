#!/usr/bin/env bash
# The figures of a reader (issue 20's targets), in one run, into OUT: qa eval on SQuAD 1.1 dev (retrieval and
# --oracle; NO_ORACLE=1 skips it), the SQuAD 2.0 dev half and the news dev set, the reliability diagram and ECE
# from those runs' dumps (both domains), and QA.ask's latency on news-sized stories. Evaluation only: nothing
# here is fitted or chosen.
#
#   benchmarks/reader_figures.sh [READER_DIR] [OUT]      # defaults: models/reader, /tmp/reader-figures
set -euo pipefail
cd "$(dirname "$0")/.."
reader=${1:-models/reader}
out=${2:-/tmp/reader-figures}
squad=../shared/data/squad
py=.venv/bin/python
mkdir -p "$out"
for file in dev-v1.1 dev-v2.0-half; do
  $py -m qa.cli eval "$squad/$file.json" --reader-dir "$reader" --json --dump "$out/$file.jsonl" >"$out/$file.json"
done
$py -m qa.cli eval ../shared/data/news/dev/news-dev.json --reader-dir "$reader" --json --dump "$out/news-dev.jsonl" \
  >"$out/news-dev.json"
[ -n "${NO_ORACLE:-}" ] ||
  $py -m qa.cli eval "$squad/dev-v1.1.json" --reader-dir "$reader" --oracle --json >"$out/dev-v1.1-oracle.json"
$py benchmarks/reliability.py "$out/dev-v1.1.jsonl" "$out/dev-v2.0-half.jsonl" "$out/news-dev.jsonl" \
  --out "$out/reliability.png" >"$out/reliability.txt"
$py benchmarks/news_latency.py --questions 200 --reader-dir "$reader" >"$out/news-latency.json"
echo "figures in $out"
