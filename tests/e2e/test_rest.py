"""The Exchange Online admin API path (protocol.md §6) with a plain HTTP client (urllib)."""

import base64
import json
import ssl
import urllib.error
import urllib.request
import uuid

from conftest import PASSWORD, USER

TENANT = "contoso.onmicrosoft.com"


def post(stack, path, body, auth=(USER, PASSWORD)):
    data = json.dumps(body).encode("utf-8")
    req = urllib.request.Request(stack.base_url + path, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    ctx = ssl.create_default_context(cafile=str(stack.ca)) if stack.tls else None
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def expected(cmdlet, params, module=None, tenant=TENANT):
    return {
        "user": USER,
        "protocol": "rest",
        "cmdlet": cmdlet,
        "module": module,
        "params": params,
        "positional": [],
        "is_script": False,
        "shell_id": None,
        "command_id": None,
        "tenant": tenant,
    }


def test_invoke_command_reaches_the_endpoint_exactly_as_sent(stack):
    mark = stack.mark()
    params = {
        "Identity": "bob@contoso.com",
        "ResultSize": 1000,
        "Flags": ["a", "b"],
        "Filter": {"add": "x", "@odata.type": "#Exchange.GenericHashTable"},
        "Note": "こんにちは 😀 \n\t\"quoted\" _x0041_",
        "Confirm": False,
    }
    status, body = post(stack, f"/adminapi/beta/{TENANT}/InvokeCommand",
                        {"CmdletInput": {"CmdletName": "Set-Mailbox", "Parameters": params}})
    assert status == 200, body
    record = expected("Set-Mailbox", params)
    assert body["value"] == [record]
    assert body["@odata.context"].endswith(f"/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)")
    assert stack.since(mark) == [record]


def test_batch_runs_every_inner_request_in_order(stack):
    mark = stack.mark()
    requests = [
        {"id": str(uuid.uuid4()), "method": "POST",
         "url": f"https://outlook.office365.com/adminapi/beta/{TENANT}/InvokeCommand",
         "body": {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": f"user{i}"}}}}
        for i in range(3)
    ]
    status, body = post(stack, f"/adminapi/beta/{TENANT}/$batch", {"requests": requests})
    assert status == 200, body
    assert [r["id"] for r in body["responses"]] == [r["id"] for r in requests]
    assert all(r["status"] == 200 for r in body["responses"])
    logged = stack.since(mark)
    assert logged == [expected("Get-Mailbox", {"Identity": f"user{i}"}) for i in range(3)]


def test_no_credentials_is_refused_and_nothing_runs(stack):
    mark = stack.mark()
    status, _ = post(stack, f"/adminapi/beta/{TENANT}/InvokeCommand",
                     {"CmdletInput": {"CmdletName": "Get-Mailbox"}}, auth=None)
    # dev enforces: a call naming no caller is refused by the gateway (400, no identity)
    # before it reaches the endpoint.
    assert status == 400
    assert stack.since(mark) == []
