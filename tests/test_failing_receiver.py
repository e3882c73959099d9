"""The push benchmarks' receiver (campaigns.management.failing_receiver), in its own process:
it counts the smsMsgId of form pushes and of each report in JSON batches it accepted, and
accepts none when it fails every request."""

import requests

from campaigns.management.failing_receiver import FailingReceiver, free_port


def test_counts_each_accepted_smsmsgid_of_form_and_json_pushes(tmp_path):
    port = free_port()
    receiver = FailingReceiver(port, 0.0, tmp_path / "accepted.json")
    url = f"http://127.0.0.1:{port}/push"
    answers = [
        requests.post(url, data={"smsMsgId": "reply-1"}, timeout=5).status_code,
        requests.post(url, data={"smsMsgId": "reply-1"}, timeout=5).status_code,
        requests.post(url, json={"statusReportList": [{"smsMsgId": "m1"}, {"smsMsgId": "m2"}]}, timeout=5).status_code,
    ]
    assert answers == [200, 200, 200]
    assert receiver.stop() == {"reply-1": 2, "m1": 1, "m2": 1}


def test_accepts_nothing_when_every_request_fails(tmp_path):
    port = free_port()
    receiver = FailingReceiver(port, 1.0, tmp_path / "accepted.json")
    answer = requests.post(f"http://127.0.0.1:{port}/push", data={"smsMsgId": "reply-1"}, timeout=5)
    assert answer.status_code == 500
    assert receiver.stop() == {}
