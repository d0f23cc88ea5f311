"""Use cases: keeping the Debezium connectors registered, answering read-model queries."""
