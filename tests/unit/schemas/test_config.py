"""compatibility.toml: a global level and per-subject overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventyard.schemas import CompatibilityLevel, ConfigError
from eventyard.schemas._config import load_level_config


def test_absent_file_means_confluent_default(tmp_path: Path) -> None:
    assert load_level_config(tmp_path).level_for("anything") is CompatibilityLevel.BACKWARD


def test_global_and_subject_levels(tmp_path: Path) -> None:
    (tmp_path / "compatibility.toml").write_text(
        '[global]\nlevel = "FORWARD"\n\n[subjects."orders.order-created"]\nlevel = "full"\n',
        encoding="utf-8",
    )
    config = load_level_config(tmp_path)
    assert config.level_for("orders.order-created") is CompatibilityLevel.FULL
    assert config.level_for("other") is CompatibilityLevel.FORWARD


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[global]\nlevel = "SIDEWAYS"\n', "unknown compatibility level"),
        ("[global]\nlevel = 3\n", "must be a string"),
        ('[subjects."a"]\nmode = "FULL"\n', "needs level"),
        ('[globals]\nlevel = "FULL"\n', "unknown table"),
        ("[global\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_file(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "compatibility.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words) as caught:
        load_level_config(tmp_path)
    assert "compatibility.toml" in str(caught.value)
