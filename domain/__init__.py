"""Pure, deterministic core: flows, steps, conditions, events, timing, merge tags.

Nothing in this package performs I/O or reads the wall clock, so every module is
safe to import inside the Temporal workflow sandbox.
"""
