"""The Gradio chat (``qa serve``); see :mod:`ui.app`."""

import os

# No usage reports or version checks: the product works offline and phones nowhere.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
