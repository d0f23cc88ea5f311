"""The public surface of every library (and of the services that declare one) is what its
``__all__`` says: sorted, without duplicates, every name resolving, and every public class or
function the package defines listed. The lists themselves live only in the packages.

Then what each library promises beyond its names: PEP 420 namespace packages with a type
marker, nothing connecting at import, exception trees that are drawn and true, frozen
keyword-only configuration objects.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import eventyard
import eventyard.cdc
import eventyard.saga
import eventyard.schemas
from eventyard.cdc import _exceptions as cdc_exceptions
from eventyard.saga import _exceptions as saga_exceptions
from eventyard.schemas import _exceptions as schemas_exceptions

LIBS = sorted(f"eventyard.{info.name}" for info in pkgutil.iter_modules(eventyard.__path__))
SERVICES = [
    "eventyard_customers",
    "eventyard_inventory",
    "eventyard_order_history",
    "eventyard_orders",
    "eventyard_schema_registry",
]


def _public_submodules(package: str) -> list[str]:
    """The importable modules of ``package`` whose names do not start with ``_``."""
    path = importlib.import_module(package).__path__
    return [
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(path)
        if not info.name.startswith("_")
    ]


def _surfaces() -> list[str]:
    """Every library and its public modules (each must declare ``__all__``), and the services'
    modules that declare one."""
    names = [name for lib in LIBS for name in (lib, *_public_submodules(lib))]
    for service in SERVICES:
        for name in (service, *_public_submodules(service)):
            if hasattr(importlib.import_module(name), "__all__"):
                names.append(name)
    return names


SURFACES = _surfaces()


def _isort_key(name: str) -> tuple[int, str]:
    """RUF022's order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def _package_of(module: types.ModuleType) -> str:
    return module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]


def _commands(module: types.ModuleType) -> set[str]:
    """Functions registered as commands of the module's Typer ``app``: reached through it."""
    app = getattr(module, "app", None)
    registered = getattr(app, "registered_commands", [])
    return {command.callback.__name__ for command in registered if command.callback is not None}


def _defined_here(module: types.ModuleType) -> dict[str, object]:
    """Public classes and functions the module defines: in a package, those of the package and
    its private modules; in a module, its own."""
    if hasattr(module, "__path__"):
        private = module.__name__ + "._"

        def ours(origin: str) -> bool:
            return origin == module.__name__ or origin.startswith(private)
    else:

        def ours(origin: str) -> bool:
            return origin == module.__name__

    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and ours(getattr(value, "__module__", None) or "")
    }


@pytest.fixture(params=SURFACES)
def module(request: pytest.FixtureRequest) -> types.ModuleType:
    return importlib.import_module(request.param)


def test_all_is_a_sorted_list_of_distinct_names(module: types.ModuleType) -> None:
    names = getattr(module, "__all__", None)
    assert isinstance(names, list), f"{module.__name__} declares no __all__ list"
    assert all(isinstance(name, str) for name in names)
    assert names == sorted(names, key=_isort_key), "not in RUF022 (isort-style) order"
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"listed twice: {duplicates}"


def test_every_name_in_all_resolves(module: types.ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names what it lacks: {missing}"


def test_every_public_class_and_function_defined_is_in_all(module: types.ModuleType) -> None:
    unlisted = sorted(set(_defined_here(module)) - set(module.__all__) - _commands(module))
    assert not unlisted, f"public in {module.__name__} but not in __all__: {unlisted}"


@pytest.mark.parametrize("name", LIBS)
def test_nothing_public_outside_all_in_a_library(name: str) -> None:
    """Not even a constant or an alias: a library's top level is exactly its ``__all__``."""
    package = importlib.import_module(name)
    public = {
        attribute
        for attribute, value in vars(package).items()
        if not attribute.startswith("_")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"  # from __future__ import annotations
    }
    assert public <= set(package.__all__), sorted(public - set(package.__all__))


@pytest.mark.parametrize("name", LIBS)
def test_a_namespace_package_with_a_type_marker(name: str) -> None:
    package = Path(importlib.import_module(name).__file__ or "").parent
    assert (package / "py.typed").is_file()
    assert not (package.parent / "__init__.py").exists()  # eventyard is a PEP 420 namespace


@pytest.mark.parametrize("name", LIBS)
def test_importing_connects_to_nothing(name: str) -> None:
    """A fresh interpreter, with unreachable endpoints in its environment, imports the library
    and its public modules without opening a connection."""
    imports = ", ".join(m for m in (name, *_public_submodules(name)) if not m.endswith(".__main__"))
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('connected at import')\n"
        "socket.socket.connect = refuse\n"
        f"import {imports}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={
            "EVENTYARD_PG_DSN": "postgresql://nobody@127.0.0.1:1/x",
            "EVENTYARD_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "EVENTYARD_OTLP_ENDPOINT": "http://127.0.0.1:1",
            "PATH": "",
        },
    )
    assert result.returncode == 0, result.stderr


def test_public_modules_of_cdc_saga_and_schemas() -> None:
    """Everything else stays in private modules."""
    assert {m.rpartition(".")[2] for m in _public_submodules("eventyard.cdc")} == {
        "faust",
        "testing",
    }
    assert {m.rpartition(".")[2] for m in _public_submodules("eventyard.saga")} == {"testing"}
    assert {m.rpartition(".")[2] for m in _public_submodules("eventyard.schemas")} == {"testing"}


@pytest.mark.parametrize(
    ("exceptions", "base"),
    [
        (cdc_exceptions, eventyard.cdc.CdcError),
        (saga_exceptions, eventyard.saga.SagaError),
        (schemas_exceptions, eventyard.schemas.SchemasError),
    ],
    ids=["cdc", "saga", "schemas"],
)
def test_the_exception_tree_is_drawn_and_true(
    exceptions: types.ModuleType, base: type[Exception]
) -> None:
    doc = exceptions.__doc__ or ""
    for name in exceptions.__all__:
        assert name in doc, f"{name} is not in the tree drawn in {exceptions.__name__}"
        assert issubclass(getattr(exceptions, name), base), name


def test_cdc_exceptions() -> None:
    assert issubclass(eventyard.cdc.DecodeError, ValueError)
    assert issubclass(eventyard.cdc.ConfigError, ValueError)
    assert cdc_exceptions.SchemaUnavailable.retryable
    assert cdc_exceptions.DeadLetterFailed.retryable
    assert not eventyard.cdc.DecodeError.retryable
    assert issubclass(cdc_exceptions.RebuildFailed, cdc_exceptions.ProjectionError)


def test_saga_exceptions() -> None:
    saga = eventyard.saga
    assert saga.ConcurrentUpdate.retryable
    assert saga.StoreUnavailable.retryable
    assert saga.StepRetry.retryable
    assert not saga.StepFailed.retryable
    assert issubclass(saga.DefinitionError, ValueError)
    assert issubclass(saga.UnknownSaga, LookupError)
    assert issubclass(saga.ConfigError, ValueError)
    # The old name stays importable for one release: the same class.
    assert saga.ConfigurationError is saga.ConfigError


def test_schemas_exceptions() -> None:
    assert issubclass(eventyard.schemas.SchemaParseError, ValueError)
    assert schemas_exceptions.RegistryUnavailable.retryable
    assert not schemas_exceptions.RegistryRejected.retryable


@pytest.mark.parametrize(
    "cls",
    [
        eventyard.saga.OrchestratorConfig,
        eventyard.saga.SagaTables,
        eventyard.saga.RetryPolicy,
        eventyard.saga.Backoff,
        eventyard.saga.SagaFilter,
        eventyard.saga.Step,
        eventyard.saga.Command,
    ],
    ids=lambda cls: cls.__name__,
)
def test_saga_configuration_is_frozen_and_keyword_only(cls: type) -> None:
    params = inspect.signature(cls).parameters.values()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_cdc_results_and_configuration_are_frozen_and_keyword_only() -> None:
    position = eventyard.cdc.Position("t", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        position.offset = 2  # type: ignore[misc]
    config = eventyard.cdc.RunnerConfig(bootstrap_servers="b", dsn="d", group_id="g", topics=("t",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        eventyard.cdc.RunnerConfig("b", "d", "g")  # type: ignore[call-arg]


def test_schemas_results_are_frozen() -> None:
    result = eventyard.schemas.check_reader_writer("int", "long")
    with pytest.raises(AttributeError):
        result.compatible = True  # type: ignore[misc]


def test_importing_telemetry_needs_no_web_or_database_library() -> None:
    # FastAPI, SQLAlchemy and httpx are the application's; they are imported when used.
    code = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'fastapi', 'starlette', 'sqlalchemy', 'httpx'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import eventyard.telemetry, eventyard.telemetry.testing\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
