"""Every side effect of a journey, as Temporal activities behind small provider ports."""
