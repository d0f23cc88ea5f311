"""Edges: the Debezium connectors, Kafka Connect's REST API, the projection's tables and
handlers, the read-model queries, the faust-streaming statistics, the Alembic migrations."""
