"""The reference shop's orders service: the order API and the order saga's orchestrator.

``bootstrap`` wires the service from :class:`Settings`; ``create_app`` gives its ASGI
application; ``eventyard-orders serve`` (or ``python -m eventyard_orders serve``) runs it.
"""

from eventyard_orders.bootstrap import Orders, bootstrap
from eventyard_orders.entrypoints.app import create_app
from eventyard_orders.service_layer.saga import OrderSagaData, order_saga
from eventyard_orders.settings import Settings

__all__ = ["OrderSagaData", "Orders", "Settings", "bootstrap", "create_app", "order_saga"]
