"""Kafka-family JVM components: jars fetched off Maven Central, run with a bounded heap."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from eventyard.stack._component import Component, LaunchSpec, Report, resource_path
from eventyard.stack._install import maven_fetch, require_program

__all__ = ["JvmComponent", "MavenFetch", "java_argv"]


def java_argv(*, heap: str, classpath: Path, main: str, args: list[str]) -> list[str]:
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
        "-cp",
        f"{classpath}/*",
        main,
        *args,
    ]


@dataclass(frozen=True, kw_only=True)
class MavenFetch:
    """One folder filled by Maven from a shipped pom."""

    what: str
    pom: str
    goals: tuple[str, ...]
    target: Path


class JvmComponent(Component):
    """A component whose process is ``java -cp <jars>/* <main_class> <properties>``."""

    main_class: ClassVar[str]
    properties_name: ClassVar[str]

    @property
    @abstractmethod
    def jars_dir(self) -> Path:
        """The classpath folder."""

    @property
    @abstractmethod
    def heap(self) -> str:
        """Heap size, as ``-Xmx`` takes it."""

    @abstractmethod
    def fetches(self) -> list[MavenFetch]:
        """What Maven must fetch before the first start."""

    @property
    def properties(self) -> Path:
        """The rendered properties file the process reads."""
        return self.home / self.properties_name

    def install(self, report: Report) -> None:
        require_program("java")
        for fetch in self.fetches():
            if not fetch.target.is_dir():
                report(f"fetching {fetch.what} from Maven Central")
            maven_fetch(
                what=fetch.what,
                pom=resource_path(fetch.pom),
                goals=list(fetch.goals),
                target=fetch.target,
                log_path=self.log_path,
            )

    def launch(self) -> LaunchSpec:
        argv = java_argv(
            heap=self.heap,
            classpath=self.jars_dir,
            main=self.main_class,
            args=[str(self.properties)],
        )
        return LaunchSpec(argv=argv, cwd=self.home)
