"""The reference shop's inventory service: products, prices and stock, and the saga
participant that prices an order's lines and reserves and releases its stock.

``entrypoints.app.create_app`` gives the ASGI application; ``eventyard-inventory serve`` (or
``python -m eventyard_inventory serve``) runs it with its outbox relay and command consumer.
"""
