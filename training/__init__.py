"""Training the span reader that ``qa`` ships in ``models/reader`` (see ``python -m training.train_reader --help``).

Needs PyTorch and transformers (installed with the project); never run at question time.
"""
