"""The HTTP provider's client (sms.cloud_client): batchSendSms requests as the reference builds them,
their answers mapped to submit results, and status reports read back. The network is httpx's
MockTransport here; tests/test_http_provider.py runs the gateway against real HTTP servers."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from sms import cloud_client
from sms.cloud_client import CloudClient, CloudSubmit
from sms.signing import parse_wsse

APP_KEY, APP_SECRET = "c8RWg3ggEcyd4D3p94bf3Y7x1Ile", "q4Ii87BhST9vcs8wvrzN80SfD7Al"


def submits(numbers, template="tpl-1", variables=("A1",), source="csms12345678"):
    return [CloudSubmit(n, source, number, template, tuple(variables)) for n, number in enumerate(numbers)]


def numbers(count, start=0):
    return [f"+86138{n:08d}" for n in range(start, start + count)]


def accepted(request, status_for=lambda number: "000000"):
    """The reference's answer to a batchSendSms: one result per number."""
    form = parse_qs(request.content.decode())
    result = [
        {
            "originTo": number,
            "createTime": "2026-12-01T08:00:00Z",
            "from": form["from"][0],
            "smsMsgId": f"msg-{number}",
            "status": status_for(number),
            "countryId": "CN",
            "total": 1,
        }
        for number in form["to"][0].split(",")
    ]
    return httpx.Response(200, json={"code": "000000", "description": "Success", "result": result})


def run(client, items):
    async def go():
        await client.start()
        try:
            return await client.submit_many(items)
        finally:
            await client.stop()

    return asyncio.run(go())


def client_with(handler, **options):
    return CloudClient(
        "https://sms.example.com:443/", APP_KEY, APP_SECRET, transport=httpx.MockTransport(handler), **options
    )


# --- requests -------------------------------------------------------------------------------------


def test_submits_with_the_same_template_and_values_share_a_request_of_at_most_500_numbers():
    items = submits(numbers(1203)) + submits(numbers(2, 5000), variables=("B2",)) + submits(numbers(1, 6000), "tpl-2")
    calls = cloud_client.group(items, "https://console.example/provider-reports/t/")
    assert [len(call.submits) for call in calls] == [500, 500, 203, 2, 1]
    first = calls[0].fields
    assert first["from"] == "csms12345678" and first["templateId"] == "tpl-1"
    assert first["to"].split(",") == numbers(500)
    assert json.loads(first["templateParas"]) == ["A1"]
    assert first["statusCallback"] == "https://console.example/provider-reports/t/"
    assert json.loads(calls[3].fields["templateParas"]) == ["B2"]
    assert calls[4].fields["templateId"] == "tpl-2"


def test_a_number_never_repeats_in_one_request_and_a_template_without_values_sends_no_paras():
    items = submits(["+8613800000001", "+8613800000001", "+8613800000002"], variables=())
    calls = cloud_client.group(items)
    assert [call.fields["to"] for call in calls] == ["+8613800000001", "+8613800000001,+8613800000002"]
    assert "templateParas" not in calls[0].fields and "statusCallback" not in calls[0].fields


def test_the_request_is_form_encoded_to_batch_send_sms_and_signed_with_x_wsse():
    seen = []

    def handler(request):
        seen.append(request)
        return accepted(request)

    results = run(client_with(handler), submits(numbers(2), variables=("王先生", "A&B=1")))
    assert all(result.ok for result in results)
    request = seen[0]
    assert request.method == "POST" and str(request.url) == "https://sms.example.com/sms/batchSendSms/v1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert json.loads(form["templateParas"][0]) == ["王先生", "A&B=1"]
    assert form["to"] == [",".join(numbers(2))]
    token = parse_wsse(request.headers["authorization"], request.headers["x-wsse"])
    assert token.app_key == APP_KEY
    token.verify(APP_SECRET, datetime.now(UTC), timedelta(minutes=5))  # raises unless signed with the secret
    with pytest.raises(Exception, match="PasswordDigest"):
        token.verify("another secret", datetime.now(UTC), timedelta(minutes=5))


# --- answers --------------------------------------------------------------------------------------


def test_each_number_gets_its_own_status_submitted_with_its_sms_msg_id_or_failed_with_its_code():
    codes = {numbers(3)[1]: "E200028", numbers(3)[2]: "E200015"}
    results = run(client_with(lambda r: accepted(r, lambda n: codes.get(n, "000000"))), submits(numbers(3)))
    ok, refused, pending = results
    assert ok.ok and ok.message_ids == (f"msg-{numbers(1)[0]}",) and ok.ref == 0
    assert (refused.ok, refused.permanent, refused.ambiguous, refused.command_status) == (False, True, False, "E200028")
    # E200015 (too many pending): not sent, so it may go again
    assert (pending.ok, pending.permanent, pending.ambiguous) == (False, False, False)


def test_a_request_refused_as_a_whole_fails_its_messages_with_the_request_code():
    def handler(request):
        return httpx.Response(400, json={"code": "E000102", "description": "Invalid app_key."})

    results = run(client_with(handler), submits(numbers(2)))
    assert [(r.ok, r.permanent, r.command_status, r.error) for r in results] == [
        (False, True, "E000102", "Invalid app_key.")
    ] * 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(503, text="busy"),
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"code": "000000", "description": "Success", "result": []}),
    ],
    ids=["5xx", "unreadable 200", "accepted but no result for the number"],
)
def test_an_answer_that_does_not_say_what_happened_makes_the_messages_unknown_never_resent(response):
    results = run(client_with(lambda request: response), submits(numbers(2)))
    assert [(r.ok, r.ambiguous, r.permanent) for r in results] == [(False, True, False)] * 2


def test_a_timeout_after_the_request_was_written_is_unknown():
    def handler(request):
        raise httpx.ReadTimeout("no answer", request=request)

    results = run(client_with(handler), submits(numbers(2)))
    assert all(r.ambiguous and not r.ok for r in results)


def test_a_connection_that_cannot_be_opened_sends_nothing_so_its_messages_go_again_and_the_client_waits():
    def handler(request):
        raise httpx.ConnectError("connection refused", request=request)

    client = client_with(handler)
    results = run(client, submits(numbers(2)))
    assert [(r.ok, r.ambiguous, r.permanent) for r in results] == [(False, False, False)] * 2
    assert client.bound_sessions == 0 and "cannot reach https://sms.example.com:443" in client.last_bind_error


def test_a_429_is_sent_again_and_a_number_is_matched_without_its_plus():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, text="slow down")
        form = parse_qs(request.content.decode())
        to = form["to"][0].split(",")
        result = [{"originTo": n.lstrip("+"), "smsMsgId": "id-" + n[-2:], "status": "000000"} for n in to]
        return httpx.Response(200, json={"code": "000000", "description": "Success", "result": result})

    client = client_with(handler)
    first = run(client, submits(numbers(2)))
    assert [(r.ok, r.ambiguous, r.permanent) for r in first] == [(False, False, False)] * 2
    second = run(client, submits(numbers(2)))
    assert [r.message_ids for r in second] == [("id-00",), ("id-01",)]


def test_a_submit_without_a_remote_template_fails_without_a_request():
    results = run(client_with(lambda request: pytest.fail("no request expected")), submits(numbers(1), None))
    assert (results[0].ok, results[0].permanent, results[0].error) == (False, True, cloud_client.NO_TEMPLATE_ERROR)


def test_results_come_back_in_the_order_of_the_submits_across_requests():
    items = [*submits(numbers(2)), *submits(numbers(2, 10), variables=("B",)), *submits(numbers(1, 20), None)]
    items = [items[3], items[0], items[4], items[2], items[1]]
    results = run(client_with(accepted, window=2), items)
    assert [r.ref for r in results] == [item.ref for item in items]
    assert [r.message_ids for r in results] == [
        (f"msg-{items[0].destination}",),
        (f"msg-{items[1].destination}",),
        (),
        (f"msg-{items[3].destination}",),
        (f"msg-{items[4].destination}",),
    ]


# --- status reports -------------------------------------------------------------------------------


def test_a_form_status_report_and_a_json_batch_are_read_alike():
    form = b"sequence=1&total=1&orgCode=000&updateTime=2018-04-13T06%3A31%3A46Z&source=2&smsMsgId=b9d9_6&status=DELIVRD"
    [report] = cloud_client.parse_status_reports("application/x-www-form-urlencoded", form)
    assert (report.sms_msg_id, report.status, report.total, report.sequence) == ("b9d9_6", "DELIVRD", 1, 1)
    body = json.dumps({"statusReportList": [{"smsMsgId": "a", "status": "UNDELIV", "orgCode": "MK:0001"}]})
    [report] = cloud_client.parse_status_reports("application/json; charset=utf-8", body.encode())
    assert (report.sms_msg_id, report.status, report.org_code) == ("a", "UNDELIV", "MK:0001")


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/x-www-form-urlencoded", b"status=DELIVRD"),
        ("application/x-www-form-urlencoded", b"smsMsgId=a&status=DELIVRD&total=x"),
        ("application/json", b"{not json"),
        ("application/json", b'{"statusReportList": {"smsMsgId": "a"}}'),
        ("application/json", b'{"statusReportList": [{"smsMsgId": "a"}]}'),
    ],
)
def test_a_status_report_without_what_it_must_say_is_refused(content_type, body):
    with pytest.raises(cloud_client.ReportError):
        cloud_client.parse_status_reports(content_type, body)


def test_reports_become_receipts_in_the_smpp_vocabulary():
    reports = [
        cloud_client.StatusReport("d", "DELIVRD"),
        cloud_client.StatusReport("long", "DELIVRD", total=3, sequence=1),  # not the last segment yet
        cloud_client.StatusReport("long-last", "DELIVRD", total=3, sequence=3),
        cloud_client.StatusReport("u", "UNDELIV", org_code="MK:0001"),
        cloud_client.StatusReport("e", "EXPIRED"),
        cloud_client.StatusReport("acc", "ACCEPTD"),
        cloud_client.StatusReport("unk", "UNKNOWN"),
        cloud_client.StatusReport("black", "BLACK"),
        cloud_client.StatusReport("plat", "E200027"),
    ]
    receipts = [(r.message_id, r.stat, r.err) for r in cloud_client.report_receipts(reports)]
    assert receipts == [
        ("d", "DELIVRD", ""),
        ("long-last", "DELIVRD", ""),
        ("u", "UNDELIV", "MK:0001"),
        ("e", "EXPIRED", ""),
        ("unk", "UNKNOWN", ""),  # final: the carrier does not know how it ended
        ("black", "REJECTD", "BLACK"),
        ("plat", "REJECTD", "E200027"),
    ]


def test_an_unreachable_client_counts_as_bound_again_once_its_host_takes_a_connection():
    async def go():
        server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = CloudClient(f"http://127.0.0.1:{port}", APP_KEY, APP_SECRET)
        client._unreachable(OSError("connection refused"))
        assert client.bound_sessions == 0
        await client.wait_connected(timeout=2.0)
        bound_again = (client.bound_sessions, client.last_bind_error)
        server.close()
        await server.wait_closed()
        dead = CloudClient(f"http://127.0.0.1:{port}", APP_KEY, APP_SECRET)
        dead._unreachable(OSError("connection refused"))
        with pytest.raises(TimeoutError):
            await dead.wait_connected(timeout=0.2)
        return bound_again, dead.bound_sessions

    assert asyncio.run(go()) == ((1, ""), 0)
