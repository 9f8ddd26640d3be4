"""The embedded store refuses several worker processes: in the settings, gunicorn.conf.py and serve.py."""

import importlib.util
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import serve
from config import ConfigError, Settings

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def load_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def conf():
    return load_conf()


class Arbiter(SimpleNamespace):
    """The parts of gunicorn's Arbiter that the hooks use."""

    def __init__(self, workers: int) -> None:
        super().__init__(
            cfg=SimpleNamespace(workers=workers), num_workers=workers, log=logging.getLogger("test")
        )


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.delenv("MONGO_URI", raising=False)


@pytest.fixture
def mongo(monkeypatch):
    monkeypatch.setenv("MONGO_URI", "mongodb://db.invalid:27017/auth")


def test_several_workers_on_the_embedded_store_refuse_to_start_with_a_clear_message(conf, embedded):
    with pytest.raises(RuntimeError, match="embedded in-memory store .* 2 workers .* Set MONGO_URI"):
        conf.on_starting(Arbiter(workers=2))


def test_several_workers_on_the_embedded_store_are_refused_by_the_settings():
    with pytest.raises(ConfigError, match="embedded in-memory store .* 3 workers"):
        Settings.from_env({"WEB_CONCURRENCY": "3"})
    assert (
        Settings.from_env({"WEB_CONCURRENCY": "3", "MONGO_URI": "mongodb://db.invalid/auth"}).server.workers
        == 3
    )


def test_one_worker_on_the_embedded_store_starts(conf, embedded):
    conf.on_starting(Arbiter(workers=1))


def test_several_workers_with_mongodb_start(conf, mongo):
    conf.on_starting(Arbiter(workers=4))


def test_adding_workers_at_run_time_on_the_embedded_store_stays_at_one(conf, embedded):
    arbiter = Arbiter(workers=1)
    arbiter.num_workers = 2  # what `kill -TTIN` does
    conf.nworkers_changed(arbiter, 2, 1)
    assert arbiter.num_workers == 1


def test_adding_workers_at_run_time_with_mongodb_is_allowed(conf, mongo):
    arbiter = Arbiter(workers=2)
    arbiter.num_workers = 3
    conf.nworkers_changed(arbiter, 3, 2)
    assert arbiter.num_workers == 3


def test_the_port_comes_from_the_settings(conf):
    assert conf.bind.endswith(f":{Settings.from_env().server.port}")
    assert conf.worker_class == "gthread"


class FakeGranian:
    """Stands in for granian's server: records how it was built and that it was started."""

    built: dict = {}

    def __init__(self, target: str, **options) -> None:
        FakeGranian.built = {"target": target, **options}

    def serve(self) -> None:
        FakeGranian.built["served"] = True


@pytest.fixture
def granian(monkeypatch):
    FakeGranian.built = {}
    monkeypatch.setattr(serve, "Granian", FakeGranian)
    return FakeGranian


def test_serve_runs_granian_on_the_port_with_the_configured_workers(granian, mongo, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    serve.main([])
    assert granian.built["target"] == "wsgi:app"
    assert (granian.built["port"], granian.built["workers"], granian.built["address"]) == (8123, 2, "0.0.0.0")
    assert granian.built["interface"].value == "wsgi"
    assert granian.built["served"]


def test_both_servers_give_the_requests_in_flight_shutdown_grace_seconds_on_sigterm(
    granian, mongo, monkeypatch
):
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "12")
    serve.main([])
    assert granian.built["workers_kill_timeout"] == 12
    assert load_conf().graceful_timeout == 12


def test_serve_refuses_several_workers_on_the_embedded_store_before_starting(
    granian, embedded, monkeypatch, capsys
):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    with pytest.raises(SystemExit) as stopped:
        serve.main([])
    assert stopped.value.code == 2
    assert re.match(r"Error: The embedded in-memory store .* 2 workers", capsys.readouterr().err)
    assert granian.built == {}


def test_gunicorn_conf_refuses_several_workers_from_the_environment_without_a_traceback(
    embedded, monkeypatch, capsys
):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    with pytest.raises(SystemExit) as stopped:
        load_conf()
    assert stopped.value.code == 2
    assert re.match(r"Error: The embedded in-memory store .* 2 workers", capsys.readouterr().err)
