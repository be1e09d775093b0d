"""The project's database driver installs, imports and is the one SQLAlchemy loads for SCDF's URL.

Rendered by generator-scdf-task for <%- profile.label %>. No database is contacted.
"""

import importlib

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from util.jdbc_url import convert

SQLALCHEMY_DRIVER = <%- JSON.stringify(profile.sqlalchemyDriver) %>
DRIVER_MODULE = <%- JSON.stringify(profile.driverModule) %>
EXAMPLE_JDBC_URL = <%- JSON.stringify(profile.exampleJdbcUrl) %>
# Without ';': Db2's CLI driver does not support it in passwords (util.jdbc_url warns about it).
PASSWORD = "p@ss:w/rd%#{}'"


def test_driver_module_imports():
    module = importlib.import_module(DRIVER_MODULE)
    assert module.__name__ == DRIVER_MODULE


def test_sqlalchemy_loads_the_dialect_and_driver_for_the_example_url():
    converted = convert(EXAMPLE_JDBC_URL, username="scdf", password=PASSWORD)
    assert converted.url.drivername == SQLALCHEMY_DRIVER

    engine = create_engine(converted.url, poolclass=NullPool)  # creating an engine does not connect

    dialect = engine.dialect
    assert dialect.loaded_dbapi is not None
    assert dialect.loaded_dbapi.__name__.startswith(DRIVER_MODULE)
    # What the driver's connect() would be called with: mapped parameters only, no JDBC ones.
    args, kwargs = dialect.create_connect_args(converted.url)
    passed = " ".join(map(str, [*args, *kwargs.keys()]))
    for name in converted.dropped:
        assert name not in passed
    # The raw password reaches the driver: no escaping, no masking on the way.
    assert any(PASSWORD in str(value) for value in [*args, *kwargs.values()])
    engine.dispose()
