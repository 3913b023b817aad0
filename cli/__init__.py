"""The `dripstone` command line."""
