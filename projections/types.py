"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY, so the global event position is
# BIGINT on PostgreSQL and INTEGER (a 64-bit rowid alias) on SQLite.
Position = BigInteger().with_variant(Integer(), "sqlite")

Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator):
    """Stores UTC and always hands back aware datetimes; SQLite would drop the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        """The conversion above (and SQLite's to text), remembering its last result: a
        batch's rows mostly carry the same datetime object (the batch's `now`), so an
        executemany of a thousand rows converts it once, not per row. Keyed on identity
        (the memo holds the object, so its id cannot be reused); datetimes are immutable."""
        process = super().bind_processor(dialect)
        if process is None:
            return None
        memo: list[tuple] = [(None, None)]

        def remembered(value):
            seen, text = memo[0]  # one pair, replaced whole: safe across threads
            if value is not None and value is seen:
                return text
            text = process(value)
            memo[0] = (value, text)
            return text

        return remembered

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
