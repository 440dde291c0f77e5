"""The Gradio chat over an index (see ui/app.py)."""
