"""The reference shop's customers service: credit limits, and the saga participant that
reserves and releases an order's credit.

``entrypoints.app.create_app`` gives the ASGI application; ``eventyard-customers serve`` (or
``python -m eventyard_customers serve``) runs it with its outbox relay and command consumer.
"""
