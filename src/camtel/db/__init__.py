"""Database: declarative base and column types, engines and sessions, Alembic migrations."""
