"""Makes notebooks/conftest.py import as notebooks.conftest, apart from tests/conftest.py."""
