"""Encryption of everything Dripstone puts into Temporal (payload codec), its keys, and
the one function that builds the data converter every client, worker and replayer uses."""
