"""Benchmark: eventyard.schemas vs Apache Avro's Python checker, side by side in one run.

Corpus: 200 subjects x 20 versions of realistic event records (nested records, arrays, maps,
enums, fixed, logical types, optional unions), each version one evolution of the previous:
mostly compatible changes, some breaking ones, some renames through aliases. Every version from
the second is checked at FULL_TRANSITIVE against all earlier versions (both directions), as a
registry does on registration.

* Both sides start from the JSON texts with cold caches and parse each distinct schema once
  inside the timing (``speedup_vs_avro_lib``); a second pair of runs gives both every schema
  parsed beforehand (``speedup_checks_only``).
* avro uses one fresh ``ReaderWriterCompatibilityChecker`` per reader/writer pair, as Avro
  Java's API does. ``--avro-subjects`` can limit avro to the first subjects; the speedups always
  compare both on exactly the same checks.

Writes bench/results/schemas.json. Needs ``avro`` (``eventyard-schemas[bench]``).
Run: ``uv run python bench/schemas_bench.py``.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from eventyard.schemas import (
    CompatibilityLevel,
    check_compatibility,
    check_reader_writer,
    clear_caches,
    parse_schema,
)
from eventyard.schemas._rules import clear_pair_cache

try:
    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    HAVE_AVRO = True
except ImportError:  # the bench extra is absent: main() says how to install it
    HAVE_AVRO = False

RESULTS = Path(__file__).resolve().parent / "results" / "schemas.json"
LEVEL = CompatibilityLevel.FULL_TRANSITIVE

KINDS = {
    "alias_qualification": (
        "Named-type aliases. The Avro spec says an alias without a dot is qualified by the "
        "namespace of the schema that declares it, so a reader record 'com.acme.OrderPlaced' "
        "with alias 'OrderCreated' reads writer 'com.acme.OrderCreated' (Avro Java and Confluent "
        "agree). avro-python compares the alias as written with the writer's full name, so it "
        "reports NAME_MISMATCH for a rename the spec allows. eventyard follows the spec."
    ),
    "ambiguous_field_alias": (
        "A reader field whose name and aliases match two writer fields. The spec leaves it "
        "undefined which field to read; Avro Java's checker throws and Confluent counts the "
        "exception as incompatible. avro-python silently reads the directly-named field. "
        "eventyard follows Java/Confluent."
    ),
    "other": "Unclassified: see the samples in this file.",
}

FIRST_NAMES = ("order", "customer", "payment", "shipment", "invoice", "refund", "cart", "stock")
FIELD_WORDS = (
    "id", "amount", "currency", "status", "note", "email", "phone", "sku", "quantity", "price",
    "created_at", "updated_at", "region", "channel", "source", "tags", "attributes", "version",
    "reason", "priority", "discount", "tax", "total", "weight", "carrier", "tracking", "coupon",
)  # fmt: skip
PRIMITIVE_DEFAULTS: dict[str, Any] = {
    "string": "",
    "int": 0,
    "long": 0,
    "double": 0.0,
    "float": 0.0,
    "boolean": False,
    "bytes": "",
}
PROMOTE = {"int": "long", "long": "double", "float": "double", "string": "bytes"}


# One branch per kind of field a real event schema has: a weighted table, kept flat.
def _field_type(  # noqa: PLR0911
    rng: random.Random, namespace: str, counter: list[int]
) -> tuple[Any, Any]:
    """A field type and a valid default for it."""
    roll = rng.random()
    if roll < 0.45:
        kind = rng.choice(("string", "int", "long", "double", "boolean", "bytes"))
        return kind, PRIMITIVE_DEFAULTS[kind]
    if roll < 0.6:
        inner = rng.choice(("string", "long", "int"))
        return ["null", inner], None
    if roll < 0.68:
        return {"type": "long", "logicalType": "timestamp-millis"}, 0
    if roll < 0.76:
        counter[0] += 1
        symbols = ["A", "B", "C", "D"][: rng.randint(2, 4)]
        return {"type": "enum", "name": f"Kind{counter[0]}", "symbols": symbols}, symbols[0]
    if roll < 0.84:
        return {"type": "array", "items": rng.choice(("string", "long"))}, []
    if roll < 0.9:
        return {"type": "map", "values": rng.choice(("string", "double"))}, {}
    if roll < 0.93:
        counter[0] += 1
        return {"type": "fixed", "name": f"Hash{counter[0]}", "size": 16}, "\u0000" * 16
    counter[0] += 1
    nested = {
        "type": "record",
        "name": f"Part{counter[0]}",
        "namespace": namespace,
        "fields": [
            {"name": "line", "type": "string"},
            {"name": "city", "type": "string"},
            {"name": "zip", "type": ["null", "string"], "default": None},
        ],
    }
    return nested, {"line": "", "city": "", "zip": None}


def _base(rng: random.Random, subject: int) -> dict[str, Any]:
    namespace = f"com.acme.{rng.choice(FIRST_NAMES)}{subject}"
    counter = [0]
    fields = []
    for index in range(rng.randint(6, 16)):
        field_type, _ = _field_type(rng, namespace, counter)
        fields.append({"name": f"{rng.choice(FIELD_WORDS)}_{index}", "type": field_type})
    return {"type": "record", "name": f"Event{subject}", "namespace": namespace, "fields": fields}


# One branch per kind of schema change, each with its weight: a table, kept flat.
def _evolve(  # noqa: PLR0912
    rng: random.Random, schema: dict[str, Any], step: int
) -> tuple[dict[str, Any], bool]:
    """A candidate next version, and whether the change is meant to pass FULL_TRANSITIVE."""
    new = copy.deepcopy(schema)
    fields = new["fields"]
    counter = [1000 + step]
    roll = rng.random()
    if roll < 0.45:  # add an optional field (with a default): FULL compatible
        field_type, default = _field_type(rng, new["namespace"], counter)
        fields.append({"name": f"added_{step}", "type": field_type, "default": default})
        return new, True
    if roll < 0.55:  # drop a field that has a default: FULL compatible
        with_default = [f for f in fields if "default" in f]
        if with_default:
            fields.remove(rng.choice(with_default))
        return new, True
    if roll < 0.65:  # give a field a default: FULL compatible
        plain = [f for f in fields if isinstance(f["type"], str) and "default" not in f]
        if plain:
            target = rng.choice(plain)
            target["default"] = PRIMITIVE_DEFAULTS.get(target["type"])
        return new, True
    if roll < 0.7:  # promote a primitive: old readers cannot read it (breaks FORWARD)
        candidates = [f for f in fields if isinstance(f["type"], str) and f["type"] in PROMOTE]
        if candidates:
            target = rng.choice(candidates)
            target["type"] = PROMOTE[target["type"]]
            target.pop("default", None)
    elif roll < 0.75:  # add an enum symbol: old readers lack it (breaks FORWARD)
        enums = [f for f in fields if isinstance(f["type"], dict) and f["type"]["type"] == "enum"]
        if enums:
            enums[0]["type"]["symbols"].append(f"S{step}")
    elif roll < 0.8:  # rename a field, keeping the old name as an alias (breaks FORWARD)
        target = rng.choice(fields)
        target["aliases"] = [target["name"]]
        target["name"] = f"{target['name']}_v{step}"
    elif roll < 0.85:  # rename the record, old (unqualified) name as an alias (breaks FORWARD)
        new["aliases"] = [new["name"]]
        new["name"] = f"{new['name']}V{step}"
    elif roll < 0.92:  # a required field (breaks BACKWARD)
        field_type, _ = _field_type(rng, new["namespace"], counter)
        fields.append({"name": f"required_{step}", "type": field_type})
    elif roll < 0.96:  # narrow a type (breaks BACKWARD)
        candidates = [f for f in fields if f["type"] in ("long", "double")]
        if candidates:
            target = rng.choice(candidates)
            target["type"] = "int"
            target.pop("default", None)
    else:  # drop a required field (breaks FORWARD)
        required = [f for f in fields if "default" not in f]
        if len(required) > 1:
            fields.remove(rng.choice(required))
    return new, False


def corpus(subjects: int, versions: int, seed: int) -> list[list[list[str]]]:
    """Per subject: registered versions, each followed by the candidate checked against them.

    Returned as lists whose last element is the candidate and whose other elements are the
    accepted history; a candidate meant to break is checked but not accepted, as a registry
    would refuse it, so later candidates evolve from the last accepted version.
    """
    rng = random.Random(seed)
    result = []
    for subject in range(subjects):
        accepted = [_base(rng, subject)]
        checks = []
        for step in range(1, versions):
            candidate, meant_to_pass = _evolve(rng, accepted[-1], step)
            checks.append([json.dumps(v, indent=2) for v in [*accepted, candidate]])
            if meant_to_pass:
                accepted.append(candidate)
        result.append(checks)
    return result


Check = list[str]  # earlier versions oldest first, then the candidate


def run_ours(checks: list[Check], *, preparsed: bool) -> tuple[float, list[bool]]:
    """Time eventyard on ``checks`` from cold caches (parsing inside the timing unless
    ``preparsed``, where every schema is parsed first and only pair caches start cold)."""
    clear_caches()
    if preparsed:
        inputs: list[list[Any]] = [[parse_schema(text) for text in check] for check in checks]
        clear_pair_cache()
    else:
        inputs = [list(check) for check in checks]
    verdicts = []
    start = time.perf_counter()
    for *previous, new in inputs:
        verdicts.append(check_compatibility(new, previous, LEVEL).compatible)
    return time.perf_counter() - start, verdicts


def _pairs(check: Check) -> list[tuple[int, int]]:
    """(reader, writer) indexes of every pair FULL_TRANSITIVE decides for ``check``."""
    last = len(check) - 1
    return [pair for old in range(last) for pair in ((last, old), (old, last))]


def run_avro(checks: list[Check], *, preparsed: bool) -> tuple[float, list[bool], list[list[bool]]]:
    """Time avro on ``checks``; it parses each distinct text once (a dict cache) inside the
    timing unless ``preparsed``."""
    cache: dict[str, Any] = {}

    def parse(text: str) -> Any:
        found = cache.get(text)
        if found is None:
            found = cache[text] = avro.schema.parse(text)
        return found

    if preparsed:
        for check in checks:
            for text in check:
                parse(text)
    compatible = SchemaCompatibilityType.compatible
    verdicts, pair_verdicts = [], []
    start = time.perf_counter()
    for check in checks:
        schemas = [parse(text) for text in check]
        pairs = []
        for reader, writer in _pairs(check):
            result = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
                schemas[reader], schemas[writer]
            )
            pairs.append(result.compatibility is compatible)
        verdicts.append(all(pairs))
        pair_verdicts.append(pairs)
    return time.perf_counter() - start, verdicts, pair_verdicts


def classify(reader: str, writer: str) -> tuple[str, str]:
    """Name the kind of a reader/writer pair the two checkers decide differently."""

    ours = check_reader_writer(reader, writer)
    theirs = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
        avro.schema.parse(reader), avro.schema.parse(writer)
    )
    avro_ok = theirs.compatibility is SchemaCompatibilityType.compatible
    types = sorted(str(m.type) for m in ours.messages)
    avro_types = sorted(str(t) for t in theirs.incompatibilities)
    sample = f"eventyard: {'compatible' if ours.compatible else types}; avro: " + (
        "compatible" if avro_ok else f"{avro_types} {sorted(theirs.messages)}"
    )
    if "AMBIGUOUS_FIELD_ALIAS" in types:
        return "ambiguous_field_alias", sample
    if ours.compatible and any("name_mismatch" in t.lower() for t in avro_types):
        return "alias_qualification", sample
    return "other", sample


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--avro-subjects", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()
    if not HAVE_AVRO:
        print("bench needs the avro package: uv pip install 'eventyard-schemas[bench]'")
        return 2

    subjects = corpus(args.subjects, args.versions, args.seed)
    checks = [check for subject in subjects for check in subject]
    sample = [check for subject in subjects[: args.avro_subjects] for check in subject]
    ours_all_s, ours_all = run_ours(checks, preparsed=False)
    ours_sample_s, ours_sample = run_ours(sample, preparsed=False)
    avro_s, avro_verdicts, avro_pairs = run_avro(sample, preparsed=False)
    ours_checks_s, _ = run_ours(sample, preparsed=True)
    avro_checks_s, _, _ = run_avro(sample, preparsed=True)

    kinds: Counter[str] = Counter()
    samples: dict[str, str] = {}
    pair_count = 0
    for check, theirs in zip(sample, avro_pairs, strict=True):
        for (reader, writer), avro_ok in zip(_pairs(check), theirs, strict=True):
            pair_count += 1
            if check_reader_writer(check[reader], check[writer]).compatible != avro_ok:
                kind, detail = classify(check[reader], check[writer])
                kinds[kind] += 1
                samples.setdefault(kind, detail)
    check_disagreements = sum(a != b for a, b in zip(ours_sample, avro_verdicts, strict=True))

    result = {
        "level": str(LEVEL),
        "corpus": {
            "subjects": args.subjects,
            "versions_per_subject": args.versions,
            "seed": args.seed,
            "note": "each candidate is checked against the versions registered before it; "
            "candidates meant to break are checked but not registered",
        },
        "checks": len(ours_all),
        "incompatible_checks": ours_all.count(False),
        "checks_per_s": round(len(ours_all) / ours_all_s, 1),
        "avro_lib_subjects": min(args.avro_subjects, args.subjects),
        "avro_lib_checks": len(avro_verdicts),
        "avro_lib_pairs": pair_count,
        "avro_lib_checks_per_s": round(len(avro_verdicts) / avro_s, 1),
        "eventyard_checks_per_s_same_checks": round(len(ours_sample) / ours_sample_s, 1),
        "speedup_vs_avro_lib": round(avro_s / ours_sample_s, 1),
        "speedup_checks_only": round(avro_checks_s / ours_checks_s, 1),
        "timing": "speedup_vs_avro_lib: both sides start from the JSON texts with cold caches "
        "and parse each distinct schema once inside the timing; speedup_checks_only: both get "
        "every schema parsed beforehand (eventyard's pair cache still starts cold)",
        "disagreements": sum(kinds.values()),
        "disagreeing_checks": check_disagreements,
        "disagreement_kinds": [
            {"kind": kind, "pairs": count, "explanation": KINDS[kind], "sample": samples[kind]}
            for kind, count in kinds.most_common()
        ],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
