"""From ingested events to journeys: trigger matching, enrollment and signalling."""
