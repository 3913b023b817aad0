"""The projector's handlers, one module per area; projections.projector dispatches."""
