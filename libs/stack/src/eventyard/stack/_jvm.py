"""Launching Kafka's JVM programs from jars fetched off Maven Central."""

from __future__ import annotations

from pathlib import Path

from ._component import resource_path
from ._install import require_program

__all__ = ["java_argv"]


def java_argv(
    *, heap: str, classpath: Path, main: str, args: list[str], logs_dir: Path
) -> list[str]:
    """The command line of a Kafka-family JVM with a bounded heap and log4j2 to stdout."""
    return [
        require_program("java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Xss512k",
        "-XX:ReservedCodeCacheSize=64m",
        "-XX:MaxMetaspaceSize=192m",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={resource_path('log4j2.properties')}",
        f"-Dkafka.logs.dir={logs_dir}",
        "-cp",
        f"{classpath}/*",
        main,
        *args,
    ]
