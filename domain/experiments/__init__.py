"""A/B tests and holdouts: deterministic assignment (assignment), the contract between
the journey and its activity (contract), statistics (statistics, SciPy; never imported by
workflow code) and results built from counts (results)."""
