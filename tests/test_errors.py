"""The exception tree (processor/errors.py): one root, a few families, every class rooted."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import confluent_kafka
import pytest

import processor
from processor import errors
from processor.config import parse_config


def _processor_exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(processor.__path__, "processor."):
        if info.name == "processor.__main__":
            continue  # runs the CLI when imported
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("processor."):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_exception_the_processor_defines_has_the_one_root() -> None:
    classes = _processor_exception_classes()
    assert len(classes) >= 22
    unrooted = [c.__qualname__ for c in classes if not issubclass(c, errors.ProcessorError)]
    assert unrooted == []


def test_every_public_exception_is_defined_and_documented_in_errors_module() -> None:
    public = [c for c in _processor_exception_classes() if not issubclass(c, errors.InternalSignal)]
    assert {c.__module__ for c in public} == {"processor.errors"}
    for cls in public:
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} missing from the tree in processor/errors.py"


@pytest.mark.parametrize(
    ("family", "members"),
    [
        (errors.ConfigError, [errors.ConfigFileError, errors.FqlSyntaxError, errors.MappingConfigError]),
        (
            errors.DeliveryError,
            [errors.DecodeError, errors.PayloadValidationError, errors.MappingRuntimeError, errors.ProbeError],
        ),
        (
            errors.KafkaError,
            [errors.KafkaUnavailable, errors.ProduceError, errors.HandoffFailed, errors.LedgerFull,
             errors.ReplayError, errors.GroupActive],
        ),
        (errors.InvariantError, [errors.OffsetOrderError, errors.UnknownOffsetError]),
    ],
)
def test_families(family: type[Exception], members: list[type[Exception]]) -> None:
    assert issubclass(family, errors.ProcessorError)
    for member in members:
        assert issubclass(member, family)


def test_old_import_paths_name_the_same_classes() -> None:
    from processor.cli.replay import GroupActive, ReplayError
    from processor.config import ConfigFileError
    from processor.engine.offsets import OffsetOrderError, UnknownOffsetError
    from processor.engine.pipeline import HandoffFailed
    from processor.kafka.admin import KafkaUnavailable
    from processor.kafka.decoders import DecodeError
    from processor.kafka.dlq import LedgerFull
    from processor.kafka.producer import ProduceError
    from processor.segment.errors import ConfigError, MappingConfigError
    from processor.voucherify.client import ProbeError

    assert (ConfigFileError, ConfigError, MappingConfigError) == (
        errors.ConfigFileError, errors.ConfigError, errors.MappingConfigError)
    assert (GroupActive, ReplayError, OffsetOrderError, UnknownOffsetError, HandoffFailed) == (
        errors.GroupActive, errors.ReplayError, errors.OffsetOrderError, errors.UnknownOffsetError, errors.HandoffFailed)
    assert (KafkaUnavailable, DecodeError, LedgerFull, ProduceError, ProbeError) == (
        errors.KafkaUnavailable, errors.DecodeError, errors.LedgerFull, errors.ProduceError, errors.ProbeError)


def test_a_config_file_error_is_caught_as_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="destination"):
        parse_config({})


def test_invariant_errors_stay_runtime_errors() -> None:
    # They were RuntimeErrors before the tree existed; code catching RuntimeError still sees them.
    for cls in (errors.OffsetOrderError, errors.UnknownOffsetError, errors.HandoffFailed):
        assert issubclass(cls, RuntimeError)


def test_produce_error_knows_librdkafkas_too_large_code() -> None:
    assert errors.MSG_SIZE_TOO_LARGE == confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE
    assert errors.ProduceError("x", confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE).too_large
    assert not errors.ProduceError("x", None).too_large
