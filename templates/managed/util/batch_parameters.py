"""Spring Batch job parameters: their types, their text as Java writes it, and the job key.

A job instance is found by the MD5 of its identifying parameters (DefaultJobKeyGenerator), so
the text of each value must be Java's to the character: `5` for a Long, `1.0E10` for a Double.
Parameters come from the body and from the command line, where SCDF's restart passes them in
each generation's own form (boot2 `date(string)=2024-01-01`, boot3
`date=2024-01-01,java.lang.String`). How they are stored is `util.batch_job`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from util.launch import BatchSchema

ParameterValue = str | int | float

_EPOCH = datetime(1970, 1, 1)

# (4.3 TYPE_CD, 5.0 class) per Python type; bool is refused: Batch has no boolean parameter.
_TYPES: dict[type, tuple[str, str]] = {
    str: ("STRING", "java.lang.String"),
    int: ("LONG", "java.lang.Long"),
    float: ("DOUBLE", "java.lang.Double"),
}
_BOOT2_TYPES = {"string": str, "long": int, "double": float}
_BOOT3_TYPES = {"java.lang.String": str, "java.lang.Long": int, "java.lang.Double": float}


class BatchJobError(RuntimeError):
    """The job cannot run (Spring Batch's refusal); the message says what to do."""


def type_code(value: ParameterValue) -> str:
    """Batch 4.3's TYPE_CD of the value: STRING, LONG or DOUBLE."""
    return _TYPES[type(value)][0]


def java_class(value: ParameterValue) -> str:
    """Batch 5's PARAMETER_TYPE of the value: its Java class."""
    return _TYPES[type(value)][1]


def _parameter(name: str, value: object) -> ParameterValue:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BatchJobError(
            f"Job parameter {name!r} is a {type(value).__name__}: use text, a whole number or a decimal "
            "(a date as ISO text, for the same key in both generations)"
        )
    if not name or name.startswith(("-", "+")) or "=" in name:
        raise BatchJobError(f"Job parameter name {name!r} is not usable on a command line")
    return value


def java_text(value: ParameterValue) -> str:
    """`toString()` of the Java value: Long `5`, Double `1.5`, `1.0E10`, String itself."""
    if isinstance(value, float):
        return _java_double(value)
    return str(value)


def _java_double(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        return repr(value)
    mantissa, _, exponent = f"{value:.16e}".partition("e")
    digits = repr(float(mantissa))  # the shortest digits that read back, as Java prints them
    return f"{digits}E{int(exponent)}"


def job_key(parameters: Mapping[str, ParameterValue], schema: BatchSchema) -> str:
    """DefaultJobKeyGenerator: MD5 of `name=value;` over the identifying parameters, by name."""
    parts = []
    for name in sorted(parameters, key=lambda n: n.encode("utf-16-be")):  # Java's String order
        value = parameters[name]
        if schema.batch5:
            text = f"{{value={java_text(value)}, type=class {java_class(value)}, identifying=true}}"
        else:
            text = java_text(value)
        parts.append(f"{name}={text};")
    return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


def command_line_parameters(arguments: Sequence[str], schema: BatchSchema) -> dict[str, ParameterValue]:
    """Job parameters among the arguments, as Spring Boot reads them: those without `--`.

    boot2: `name(type)=value` (type string, long or double; none is string); boot3:
    `name=value[,type[,identifying]]`. SCDF's restart passes them so. A leading `-` marks a
    non-identifying parameter, which does not make the key and is not kept.
    """
    found: dict[str, ParameterValue] = {}
    for argument in arguments:
        if argument.startswith("--") or "=" not in argument:
            continue
        name, _, text = argument.partition("=")
        identifying = not name.startswith("-")
        name = name.lstrip("+-")
        if schema.batch5:
            pieces = text.split(",")
            type_name = pieces[1].strip() if len(pieces) > 1 else "java.lang.String"
            identifying = identifying and (len(pieces) < 3 or pieces[2].strip().lower() == "true")
            text, kind = pieces[0], _BOOT3_TYPES.get(type_name)
        else:
            type_name = "string"
            if name.endswith(")") and "(" in name:
                name, _, type_name = name[:-1].partition("(")
            kind = _BOOT2_TYPES.get(type_name.lower())
        if kind is None:
            raise BatchJobError(f"Job parameter {argument!r}: type {type_name!r} is not supported")
        if not identifying:
            continue
        try:
            found[name] = kind(text)
        except ValueError:
            raise BatchJobError(f"Job parameter {argument!r}: {text!r} is not a {type_name}") from None
    return found


def merge_parameters(
    given: Mapping[str, object], arguments: Sequence[str], schema: BatchSchema
) -> dict[str, ParameterValue]:
    merged = {name: _parameter(name, value) for name, value in given.items()}
    # A restart's parameters win: the instance is the one that failed, whatever the body derives.
    merged.update(command_line_parameters(arguments, schema))
    return merged


def restart_arguments(parameters: Mapping[str, ParameterValue], schema: BatchSchema) -> list[str]:
    """The job-parameter arguments that run this instance again, as SCDF's restart adds them."""
    if schema.batch5:
        return [f"{n}={java_text(v)},{java_class(v)}" for n, v in parameters.items()]
    return [f"{n}({type_code(v).lower()})={java_text(v)}" for n, v in parameters.items()]


def java_parameters(parameters: Mapping[str, ParameterValue], schema: BatchSchema) -> str:
    """JobParameters.toString() as Batch puts it in its refusal."""
    if schema.batch5:
        entries = (
            f"'{n}':'{{value={java_text(v)}, type=class {java_class(v)}, identifying=true}}'"
            for n, v in parameters.items()
        )
        return "{" + ",".join(entries) + "}"
    return "{" + ", ".join(f"{n}={java_text(v)}" for n, v in parameters.items()) + "}"


def parameter_columns(schema: BatchSchema) -> tuple[str, ...]:
    """The JOB_EXECUTION_PARAMS columns after JOB_EXECUTION_ID, in the order of `stored_values`."""
    if schema.batch5:
        return ("PARAMETER_NAME", "PARAMETER_TYPE", "PARAMETER_VALUE", "IDENTIFYING")
    return ("KEY_NAME", "TYPE_CD", "STRING_VAL", "DATE_VAL", "LONG_VAL", "DOUBLE_VAL", "IDENTIFYING")


def stored_values(name: str, value: ParameterValue, schema: BatchSchema) -> tuple[object, ...]:
    """One identifying parameter's values for `parameter_columns`, as Batch's JDBC DAO writes them."""
    if schema.batch5:
        return (name, java_class(value), java_text(value), "Y")
    # Batch 4.3 fills the unused columns too: '' / the epoch / 0 / 0.0.
    return (
        name,
        type_code(value),
        value if isinstance(value, str) else "",
        _EPOCH,
        value if isinstance(value, int) else 0,
        value if isinstance(value, float) else 0.0,
        "Y",
    )
