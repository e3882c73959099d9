"""`manage.py simulate_reply`: finds the simulator `make run` started by its control port file and
says plainly what is missing when it cannot send (the full path runs in test_replies_integration)."""

import socket
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.management.commands.simulate_reply import Command
from smsconsole.management.commands.run_all import CONTROL_PORT_FILE
from tests.sending_helpers import simulator, wait_for


def simulate(*args):
    return call_command("simulate_reply", *args, stdout=StringIO())


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    return settings.VAR_DIR


def test_without_a_running_simulator_it_says_to_start_make_run(var_dir, db):
    with pytest.raises(CommandError, match="No simulator is running .* start `make run` first"):
        simulate("13800138000", "R", "--to", "10690001")


def test_a_stale_port_file_is_reported_as_a_simulator_that_does_not_answer(var_dir, db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        (var_dir / CONTROL_PORT_FILE).write_text(f"{probe.getsockname()[1]}\n")

    with pytest.raises(CommandError, match="does not answer"):
        simulate("13800138000", "R", "--to", "10690001")


def test_it_finds_the_simulator_by_its_port_file_and_needs_a_bound_gateway(var_dir, tmp_path, db):
    port_file = var_dir / CONTROL_PORT_FILE
    with simulator(tmp_path, "--control-port-file", port_file) as smsc:
        assert int(port_file.read_text()) == smsc.control_port
        with pytest.raises(CommandError, match="no bound receiver"):
            simulate("13800138000", "R", "--to", "10690001")
    # Gone with the simulator, so no later command talks to a port someone else may hold.
    wait_for(lambda: not port_file.exists(), 5, "the port file to go")


def test_a_number_that_is_not_one_is_refused(var_dir, db):
    with pytest.raises(CommandError, match="not a phone number"):
        simulate("hello", "R", "--to", "10690001")


def test_without_to_it_replies_to_the_only_sendable_signature(factories, shop):
    signature = factories.create_signature(shop, channel_number="10690077")

    assert Command().channel_number_for("+8613800138000") == signature.channel_number


def test_without_to_and_several_signatures_it_asks_for_one(factories, shop):
    factories.create_signature(shop, name="One")
    factories.create_signature(shop, name="Two")

    with pytest.raises(CommandError, match="--to"):
        Command().channel_number_for("+8613800138000")
