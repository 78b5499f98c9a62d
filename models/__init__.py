"""Data and the domain: SQLAlchemy tables, query functions, and pure arithmetic modules."""
