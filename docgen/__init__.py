"""Generators of the committed reference documents in docs/ (run each as a module)."""
