"""Avro schema compatibility with Confluent Schema Registry's semantics.

A pure rule engine (Avro Java's ``SchemaCompatibility``) over schemas parsed by fastavro, the
Confluent levels on top, and the ``eventyard-schemas`` command for CI and registries.
"""

from eventyard.schemas._compatibility import check_compatibility, check_reader_writer, clear_caches
from eventyard.schemas._exceptions import (
    ConfigError,
    HistoryError,
    RegistryError,
    RegistryRejected,
    RegistryUnavailable,
    SchemaParseError,
    SchemasError,
)
from eventyard.schemas._levels import CompatibilityLevel, Direction
from eventyard.schemas._parsing import Schema, SchemaInput, parse_schema
from eventyard.schemas._results import CompatibilityResult, Incompatibility, IncompatibilityType

__all__ = [
    "CompatibilityLevel",
    "CompatibilityResult",
    "ConfigError",
    "Direction",
    "HistoryError",
    "Incompatibility",
    "IncompatibilityType",
    "RegistryError",
    "RegistryRejected",
    "RegistryUnavailable",
    "Schema",
    "SchemaInput",
    "SchemaParseError",
    "SchemasError",
    "check_compatibility",
    "check_reader_writer",
    "clear_caches",
    "parse_schema",
]
