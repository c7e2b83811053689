"""ClusterConfig validation: every error is a ConfigurationError naming its setting."""

from __future__ import annotations

from datetime import timedelta

import pytest

import jobmaster as jm
from jobmaster import testing
from jobmaster.config import STANDALONE_AGENT


def distributed() -> jm.ClusterConfig:
    config = jm.ClusterConfig("prod").use_sqlite_for_master("/tmp/jm-master.db")
    config.add_agent_connection("a1").use_memory_for_agent("a1")
    config.add_agent_connection("a2").use_memory_for_agent("a2")
    return config


def setting_of(config: jm.ClusterConfig) -> str:
    with pytest.raises(jm.ConfigurationError) as caught:
        config.validate()
    assert caught.value.setting in str(caught.value)
    return caught.value.setting


def test_valid_configs_pass() -> None:
    jm.ClusterConfig.standalone("Local-Cluster-01").use_sqlite("x.db").add_worker().validate()
    distributed().add_worker(agent="a1", lanes=["emails"]).add_worker(agent="a2").validate()
    testing.memory_config().validate()


def test_standalone_worker_binds_to_the_only_agent() -> None:
    config = jm.ClusterConfig.standalone("c").use_memory("m").add_worker()
    assert config.resolve_agent(config.workers[0]) == STANDALONE_AGENT
    assert config.workers[0].lanes == ("default",)


def test_duplicate_agent_connection_is_named() -> None:
    config = distributed()
    config.add_agent_connection("a1").use_memory_for_agent("again")
    assert setting_of(config) == "agents['a1']"


def test_agent_without_backend_is_named() -> None:
    config = jm.ClusterConfig("prod").use_sqlite_for_master("m.db")
    config.add_agent_connection("lonely")
    assert setting_of(config) == "agents['lonely']"


def test_invalid_agent_name_is_named() -> None:
    config = jm.ClusterConfig("prod").use_sqlite_for_master("m.db")
    config.add_agent_connection("bad name!").use_memory_for_agent()
    assert setting_of(config) == "agents['bad name!']"


def test_worker_on_unknown_agent_is_named() -> None:
    config = distributed().add_worker(agent="a1").add_worker(agent="nope")
    with pytest.raises(jm.ConfigurationError, match="unknown agent connection 'nope'") as caught:
        config.validate()
    assert caught.value.setting == "workers[1].agent"


def test_several_agents_need_a_named_one() -> None:
    with pytest.raises(jm.ConfigurationError, match="several agents") as caught:
        distributed().add_worker().validate()
    assert caught.value.setting == "workers[0].agent"


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"concurrency": 0}, "workers[0].concurrency"),
        ({"concurrency": -3}, "workers[0].concurrency"),
        ({"batch_size": 0}, "workers[0].batch_size"),
        ({"batch_size": 10_001}, "workers[0].batch_size"),
        ({"lease": timedelta(milliseconds=500)}, "workers[0].lease"),
        ({"lease": 0.2}, "workers[0].lease"),
        ({"lanes": []}, "workers[0].lanes"),
        ({"shutdown_grace": timedelta(seconds=-1)}, "workers[0].shutdown_grace"),
    ],
)
def test_bad_worker_settings_are_named(options: dict[str, object], setting: str) -> None:
    config = jm.ClusterConfig.standalone("c").use_memory("m").add_worker(**options)  # type: ignore[arg-type]
    assert setting_of(config) == setting


def test_duplicate_worker_names_are_named() -> None:
    config = jm.ClusterConfig.standalone("c").use_memory("m")
    config.add_worker(name="w").add_worker(name="w")
    assert setting_of(config) == "workers[1].name"


def test_unknown_worker_option_is_named_at_once() -> None:
    config = jm.ClusterConfig.standalone("c").use_memory("m").add_worker()
    with pytest.raises(jm.ConfigurationError, match="concurency") as caught:
        config.add_worker(concurency=3)
    assert caught.value.setting == "workers[1]"


def test_float_lease_is_seconds() -> None:
    config = jm.ClusterConfig.standalone("c").use_memory("m").add_worker(lease=12.5)
    assert config.workers[0].lease == timedelta(seconds=12.5)


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"default_timeout": timedelta(0)}, "default_timeout"),
        ({"default_max_retries": -1}, "default_max_retries"),
        ({"default_max_retries": 101}, "default_max_retries"),
        ({"max_message_bytes": 0}, "max_message_bytes"),
        ({"agent_horizon": timedelta(seconds=1)}, "agent_horizon"),
    ],
)
def test_bad_cluster_options_are_named(options: dict[str, object], setting: str) -> None:
    config = jm.ClusterConfig.standalone("c", **options).use_memory("m")
    assert setting_of(config) == setting


def test_unknown_timezone_message_names_the_zone() -> None:
    config = jm.ClusterConfig.standalone("c", timezone="Europe/Atlantis").use_memory("m")
    with pytest.raises(jm.ConfigurationError, match="Europe/Atlantis"):
        config.validate()


@pytest.mark.parametrize("cluster_id", ["", "has space", "-leading-dash", "x" * 65, "é"])
def test_bad_cluster_id_is_named(cluster_id: str) -> None:
    config = jm.ClusterConfig.standalone(cluster_id).use_memory("m")
    assert setting_of(config) == "cluster_id"


def test_missing_master_is_named() -> None:
    assert setting_of(jm.ClusterConfig("c")) == "master"
    assert setting_of(jm.ClusterConfig.standalone("c").add_worker()) == "master"


def test_unknown_cluster_option_names_cluster_config() -> None:
    with pytest.raises(jm.ConfigurationError, match="retension") as caught:
        jm.ClusterConfig.standalone("c", retension=timedelta(days=1))
    assert caught.value.setting == "ClusterConfig"
    config = jm.ClusterConfig.standalone("c").use_memory("m")
    with pytest.raises(jm.ConfigurationError) as caught:
        config.with_options(auto_migrat=False)
    assert caught.value.setting == "ClusterConfig"


def test_with_options_changes_options() -> None:
    config = jm.ClusterConfig.standalone("c").use_memory("m").with_options(auto_migrate=False)
    assert config.options.auto_migrate is False
    assert config.options.max_message_bytes == 256 * 1024


def test_configuration_error_is_a_value_error() -> None:
    assert issubclass(jm.ConfigurationError, ValueError)


async def test_app_start_validates_the_config() -> None:
    config = jm.ClusterConfig.standalone("bad id").use_memory("m")
    app = jm.JobMaster(config)
    with pytest.raises(jm.ConfigurationError, match="cluster_id"):
        await app.start()
    with pytest.raises(jm.NotStartedError):
        await app.get_job("x")


def test_memory_config_is_fresh_and_serves_every_lane() -> None:
    first, second = testing.memory_config(), testing.memory_config("other", default_max_retries=0)
    assert first.master is not None and second.master is not None
    assert first.master.kind == "memory"
    assert first.master.target != second.master.target
    assert first.cluster_id == "test" and second.cluster_id == "other"
    assert second.options.default_max_retries == 0
    assert len(first.workers) == 1 and first.workers[0].all_lanes
    shared = testing.memory_config(space="shared-space")
    assert shared.master is not None and shared.master.target == "shared-space"
