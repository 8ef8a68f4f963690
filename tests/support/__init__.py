"""Helpers the tests share across levels (importable as ``support``: pytest puts tests/ on the path)."""
