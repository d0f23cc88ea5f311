"""PostgreSQL and Kafka: the orders table, its repository, the outbox with Avro contracts."""
