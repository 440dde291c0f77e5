"""Model weights trained for and shipped with Article QA (data files only; see each folder's README.md).

- ``reader/``: the extractive span reader used by ``qa.read.SpanReader`` (int8 ONNX, its tokenizer,
  ``reader.json`` with its calibration, and the model card). Rebuilt by ``python -m training.train_reader``.
"""
