"""Event store, read models and the projector that keeps them in step (SQLAlchemy 2.0 Core)."""
