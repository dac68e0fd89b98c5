"""Exercise notebooks as code: one module per notebook, each with a ``build() -> Notebook``."""
