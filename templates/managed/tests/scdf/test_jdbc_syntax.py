"""The JDBC URL pieces every database's parser is built from, each alone."""

import pytest

from util.jdbc_syntax import (
    JdbcUrlError,
    Params,
    UrlParts,
    authority,
    host_port,
    is_true,
    port,
    split_pairs,
    split_top_level,
    strip_prefix,
    whole_seconds,
)


def test_params_take_the_last_of_the_names_case_insensitively() -> None:
    params = Params([("SSL", "a"), ("useSSL", "b"), ("ssl", "c"), ("other", "d")])
    assert params.take("usessl", "Ssl") == "c"
    assert params.take("missing") is None
    parts = UrlParts("x")
    params.drop_the_rest(parts)
    assert parts.dropped == ["other"]


def test_params_dropped_once_each_with_secret_values_kept_for_redaction() -> None:
    params = Params(
        [
            ("keyStorePassword", "s3cret"),
            ("trustStorePassword", ""),
            ("Flag", ""),
            ("flag", "2"),
            ("apiToken", "t0ken"),
        ]
    )
    parts = UrlParts("x")
    params.drop_the_rest(parts)
    assert parts.dropped == ["keyStorePassword", "trustStorePassword", "Flag", "apiToken"]
    assert parts.secrets == ["s3cret", "t0ken"]
    # A second call finds nothing new.
    params.drop_the_rest(parts)
    assert parts.dropped == ["keyStorePassword", "trustStorePassword", "Flag", "apiToken"]


def test_url_parts_start_empty_and_apart() -> None:
    one, two = UrlParts("a"), UrlParts("b")
    one.dropped.append("x")
    assert (two.dropped, two.notes, two.secrets, two.more_hosts, two.query) == ([], [], [], [], {})
    assert (two.host, two.port, two.database, two.username, two.password, two.balanced) == (
        None,
        None,
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("text", "separator", "decode", "pairs"),
    [
        ("a=1&flag&b=x=y", "&", False, [("a", "1"), ("flag", ""), ("b", "x=y")]),
        ("a=x%2By+z&&  &c= d ", "&", True, [("a", "x+y z"), ("c", " d ")]),
        ("a=x%2By+z", "&", False, [("a", "x%2By+z")]),
        (" k =v;m=n", ";", False, [("k", "v"), ("m", "n")]),
        ("", "&", True, []),
    ],
)
def test_split_pairs(text: str, separator: str, decode: bool, pairs: list[tuple[str, str]]) -> None:
    assert split_pairs(text, separator, decode) == pairs


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a,b,,c", ["a", "b", "c"]),
        ("[::1]:5432,h2", ["[::1]:5432", "h2"]),
        ("address=(host=a,port=1),b", ["address=(host=a,port=1)", "b"]),
        ("(a,(b,c)),d", ["(a,(b,c))", "d"]),
        (" , ", []),
        ("a", ["a"]),
        # Only brackets and parentheses nest; other characters are text.
        ("HOST-X,XX-1,{a,b}", ["HOST-X", "XX-1", "{a", "b}"]),
    ],
)
def test_split_top_level(text: str, items: list[str]) -> None:
    assert split_top_level(text, ",") == items


@pytest.mark.parametrize(("text", "number"), [("1", 1), (" 5432 ", 5432), ("65535", 65535)])
def test_port(text: str, number: int) -> None:
    assert port(text) == number


@pytest.mark.parametrize("text", ["0", "65536", "", "-1", "54x", "1.5", "+80"])
def test_a_bad_port_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(JdbcUrlError) as caught:
        port(text)
    assert str(caught.value) == "a port in spring.datasource.url is not a number from 1 to 65535"


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("db", 3306, ("db", 3306)),
        (" db:3307 ", 3306, ("db", 3307)),
        ("[::1]", 5432, ("::1", 5432)),
        ("[::1]:6000", 5432, ("::1", 6000)),
        ("[fe80::1%eth0]:7", None, ("fe80::1%eth0", 7)),
        ("::1", 5432, ("::1", 5432)),
        ("db", None, ("db", None)),
    ],
)
def test_host_port(text: str, default: int | None, expected: tuple[str, int | None]) -> None:
    assert host_port(text, default) == expected


def test_host_port_refuses_a_bad_port() -> None:
    with pytest.raises(JdbcUrlError):
        host_port("db:x", 1)
    with pytest.raises(JdbcUrlError):
        host_port("[::1]:0", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("db:5432", ("db:5432", None, None)),
        ("scdf@db", ("db", "scdf", None)),
        ("scdf:@db", ("db", "scdf", "")),
        ("sc%40df:p%40ss+w:rd@db", ("db", "sc@df", "p@ss w:rd")),
        (":pw@db", ("db", None, "pw")),
        ("u:p@ss@db", ("db", "u", "p@ss")),
    ],
)
def test_authority(text: str, expected: tuple[str, str | None, str | None]) -> None:
    assert authority(text) == expected


@pytest.mark.parametrize(
    ("value", "true"),
    [
        (None, False),
        ("", True),
        (" TRUE ", True),
        ("yes", True),
        ("1", True),
        ("On", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("truthy", False),
    ],
)
def test_is_true(value: str | None, true: bool) -> None:
    assert is_true(value) is true


@pytest.mark.parametrize(
    ("value", "units", "seconds"),
    [
        (None, 1, None),
        ("", 1000, None),
        ("  ", 1000, None),
        ("0", 1000, None),
        ("-5", 1, None),
        ("1", 1000, "1"),
        ("1000", 1000, "1"),
        ("1001", 1000, "2"),
        ("2.5", 1, "3"),
        ("30", 1, "30"),
    ],
)
def test_whole_seconds(value: str | None, units: int, seconds: str | None) -> None:
    assert whole_seconds(value, units, "connectTimeout") == seconds


def test_whole_seconds_names_the_parameter_not_the_value() -> None:
    with pytest.raises(JdbcUrlError) as caught:
        whole_seconds("ten", 1000, "socketTimeout")
    assert str(caught.value) == "JDBC parameter socketTimeout must be a number"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("pattern", "text", "rest"),
    [
        (r"jdbc:mysql://", "JDBC:MySQL://h/db", "h/db"),
        (r"jdbc:x:.*?;", "jdbc:x:a\nb;c", "c"),
        (r"jdbc:mysql://", "jdbc:mariadb://h", None),
        (r"mysql://", "jdbc:mysql://h", None),
    ],
)
def test_strip_prefix(pattern: str, text: str, rest: str | None) -> None:
    assert strip_prefix(pattern, text) == rest
