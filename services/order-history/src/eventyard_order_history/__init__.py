"""order-history: a read model of the shop's orders and customers fed by Debezium, and live
units ordered per SKU per minute from a faust-streaming app."""
