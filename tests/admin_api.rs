//! The admin API over real HTTPS (rcgen certificates, 127.0.0.1:0), a real SQLite file and a
//! fake clock: authentication, the request/approve/revoke flow, and precise errors that change
//! nothing.

mod admin_support;

use admin_support::*;
use bytes::Bytes;
use http::{Method, StatusCode};
use runspace_gateway::admin::{json, MAX_ADMIN_BODY_BYTES};
use runspace_gateway::store::Store;
use serde_json::json;
use std::sync::Arc;

fn code(a: &runspace_gateway::admin::client::Answer) -> &str {
    a.body["error"]["code"].as_str().unwrap_or("")
}
fn field(a: &runspace_gateway::admin::client::Answer) -> &str {
    a.body["error"]["field"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_and_health_is_public() {
    let g = start().await;
    let none = g
        .client("")
        .call(Method::GET, "/v1/requests", None)
        .await
        .unwrap();
    assert_eq!(
        (none.status, code(&none)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    assert!(
        none.error_message().contains("no bearer token"),
        "{}",
        none.error_message()
    );
    let wrong = g
        .client("alicex")
        .call(Method::GET, "/v1/requests", None)
        .await
        .unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.error_message().contains("not valid"));
    let wrong = g
        .client("alicex")
        .call(
            Method::POST,
            "/v1/requests",
            Some(json!({"task": "Set-Mailbox", "reason": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        g.store.list_requests(None, 10).unwrap().is_empty(),
        "nothing filed without a token"
    );
    for path in ["/healthz", "/readyz", "/v1/openapi.json"] {
        let a = g.client("").call(Method::GET, path, None).await.unwrap();
        assert_eq!(a.status, StatusCode::OK, "{path}");
    }
    let doc = g
        .client("")
        .call(Method::GET, "/v1/openapi.json", None)
        .await
        .unwrap();
    assert!(doc.body["paths"]["/v1/requests/{id}/approve"].is_object());
}

#[tokio::test]
async fn request_approve_and_revoke_over_https() {
    let g = start().await;
    let (alice, bob, mallory) = (g.client("alice"), g.client("bob"), g.client("mallory"));
    let filed = alice
        .call(
            Method::POST,
            "/v1/requests",
            Some(json!({"task": "New-JournalRule", "reason": "legal hold", "hours": 2})),
        )
        .await
        .unwrap();
    assert_eq!(filed.status, StatusCode::CREATED, "{:?}", filed.body);
    assert_eq!(
        (filed.body["id"].as_str(), filed.body["state"].as_str()),
        (Some("R-1"), Some("pending"))
    );
    assert_eq!(filed.body["requester"], ALICE);

    let pending = bob
        .call(Method::GET, "/v1/requests?state=pending", None)
        .await
        .unwrap();
    assert_eq!(pending.body["requests"].as_array().map(Vec::len), Some(1));

    let own = alice
        .call(
            Method::POST,
            "/v1/requests/R-1/approve",
            Some(json!({"comment": "me"})),
        )
        .await
        .unwrap();
    assert_eq!(
        (own.status, code(&own)),
        (StatusCode::FORBIDDEN, "self_approval")
    );
    assert!(own.error_message().contains("Self-approval is not allowed"));
    let outsider = mallory
        .call(Method::POST, "/v1/requests/R-1/approve", None)
        .await
        .unwrap();
    assert_eq!(
        (outsider.status, code(&outsider)),
        (StatusCode::FORBIDDEN, "not_an_approver")
    );
    assert!(g.live.grant_ids().is_empty());

    let ok = bob
        .call(
            Method::POST,
            "/v1/requests/R-1/approve",
            Some(json!({"comment": "fine"})),
        )
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["state"], "approved");
    assert_eq!(ok.body["grant"]["principal"], ALICE);
    assert_eq!(
        g.live.grant_ids(),
        ["G-1"],
        "in force before the API answered"
    );
    let again = bob
        .call(Method::POST, "/v1/requests/R-1/approve", None)
        .await
        .unwrap();
    assert_eq!(
        (again.status, code(&again)),
        (StatusCode::CONFLICT, "wrong_state")
    );

    let grants = alice.call(Method::GET, "/v1/grants", None).await.unwrap();
    assert_eq!(grants.body["grants"][0]["id"], "G-1");
    let one = alice
        .call(Method::GET, "/v1/requests/R-1", None)
        .await
        .unwrap();
    assert_eq!(one.body["grant_id"], "G-1");

    let revoked = bob
        .call(Method::POST, "/v1/requests/R-1/revoke", None)
        .await
        .unwrap();
    assert_eq!(
        (revoked.status, revoked.body["state"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    assert!(
        g.live.grant_ids().is_empty(),
        "revoked before the API answered"
    );
    let grants = alice.call(Method::GET, "/v1/grants", None).await.unwrap();
    assert_eq!(grants.body["grants"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        g.audit.named(),
        [
            "request.create R-1",
            "request.approve R-1 G-1",
            "request.revoke R-1 G-1"
        ],
        "each record names the request, and the grant it made or ended"
    );
}

#[tokio::test]
async fn bad_input_names_the_field_and_changes_nothing() {
    let g = start().await;
    let alice = g.client("alice");
    let cases = [
        (
            json!({"task": "Get-Mailbox", "reason": "x"}),
            "task",
            "unknown_task",
        ),
        (json!({"reason": "x"}), "task", "missing"),
        (
            json!({"task": "New-JournalRule", "reason": "x", "hours": -1}),
            "hours",
            "out_of_range",
        ),
        (
            json!({"task": "New-JournalRule", "reason": "x", "hours": 1e300}),
            "hours",
            "out_of_range",
        ),
        (
            json!({"task": "New-JournalRule", "reason": "x", "hours": 99999999999999999999u128 as f64}),
            "hours",
            "out_of_range",
        ),
        (
            json!({"task": "New-JournalRule", "reason": "x", "hours": 2.5}),
            "hours",
            "invalid_type",
        ),
        (
            json!({"task": "New-JournalRule", "reason": "x", "hours": "4"}),
            "hours",
            "invalid_type",
        ),
        (
            json!({"task": "New-JournalRule"}),
            "reason",
            "reason_required",
        ),
        (
            json!({"task": "New-JournalRule", "reason": "x", "huors": 3}),
            "huors",
            "unknown_field",
        ),
    ];
    for (body, f, c) in cases {
        let a = alice
            .call(Method::POST, "/v1/requests", Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(
            (a.status, field(&a), code(&a)),
            (StatusCode::BAD_REQUEST, f, c),
            "{body}: {:?}",
            a.body
        );
    }
    let a = alice
        .call(Method::POST, "/v1/requests/R-1x/approve", None)
        .await
        .unwrap();
    assert_eq!((a.status, field(&a)), (StatusCode::BAD_REQUEST, "id"));
    let a = alice
        .call(Method::GET, "/v1/requests/R-404", None)
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = alice
        .call(Method::GET, "/v1/requests?state=granted", None)
        .await
        .unwrap();
    assert_eq!((a.status, field(&a)), (StatusCode::BAD_REQUEST, "state"));
    let a = alice
        .send(
            Method::POST,
            "/v1/requests",
            "application/json",
            Bytes::from_static(b"{\"task\":"),
        )
        .await
        .unwrap();
    assert_eq!(
        (a.status, code(&a)),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    assert!(
        g.store.list_requests(None, 10).unwrap().is_empty(),
        "nothing was filed"
    );
    assert!(g.audit.actions().is_empty(), "nothing was audited as done");
}

#[tokio::test]
async fn the_body_limit_and_the_media_type_are_enforced() {
    let g = start().await;
    let alice = g.client("alice");
    let body = |n: usize| {
        format!(
            "{{\"task\":\"Set-Mailbox\",\"reason\":\"{}\"}}",
            "x".repeat(n)
        )
    };
    let overhead = body(0).len();
    let at_limit = body(MAX_ADMIN_BODY_BYTES - overhead);
    assert_eq!(at_limit.len(), MAX_ADMIN_BODY_BYTES);
    let a = alice
        .send(
            Method::POST,
            "/v1/requests",
            "application/json",
            Bytes::from(at_limit),
        )
        .await
        .unwrap();
    assert_eq!(
        (a.status, field(&a)),
        (StatusCode::BAD_REQUEST, "reason"),
        "read in full, then the reason is too long"
    );
    let over = body(MAX_ADMIN_BODY_BYTES - overhead + 1);
    let a = alice
        .send(
            Method::POST,
            "/v1/requests",
            "application/json",
            Bytes::from(over),
        )
        .await
        .unwrap();
    assert_eq!(
        (a.status, code(&a)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    let a = alice
        .send(
            Method::POST,
            "/v1/requests",
            "text/plain",
            Bytes::from_static(b"task=Set-Mailbox"),
        )
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = alice
        .send(
            Method::POST,
            "/v1/requests",
            "application/json; charset=utf-8",
            Bytes::from_static(b"{\"task\":\"Set-Mailbox\",\"reason\":\"x\"}"),
        )
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
}

#[tokio::test]
async fn policies_are_managed_through_the_api() {
    let g = start().await;
    let bob = g.client("bob");
    let created = bob
        .call(Method::POST, "/v1/policies", Some(json!({"task": "Remove-Mailbox", "approval": "manual", "approvers": "pam-approvers", "max_hours": 2})))
        .await
        .unwrap();
    assert_eq!(
        (created.status, created.body["id"].as_str()),
        (StatusCode::CREATED, Some("P-1"))
    );
    assert_eq!(created.body["scope"]["task"], "Remove-Mailbox");
    let list = bob.call(Method::GET, "/v1/policies", None).await.unwrap();
    let ids: Vec<_> = list.body["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["C-1", "C-2", "P-1"]);
    let bad = bob
        .call(
            Method::POST,
            "/v1/policies",
            Some(json!({"task": "X-Y", "approval": "sometimes", "approvers": "pam-approvers"})),
        )
        .await
        .unwrap();
    assert_eq!(
        (bad.status, field(&bad)),
        (StatusCode::BAD_REQUEST, "approval")
    );
    let ro = bob
        .call(Method::DELETE, "/v1/policies/C-1", None)
        .await
        .unwrap();
    assert_eq!((ro.status, code(&ro)), (StatusCode::FORBIDDEN, "read_only"));
    let gone = bob
        .call(Method::DELETE, "/v1/policies/P-1", None)
        .await
        .unwrap();
    assert_eq!(gone.status, StatusCode::OK);
    let again = bob
        .call(Method::DELETE, "/v1/policies/P-1", None)
        .await
        .unwrap();
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_are_404_wrong_methods_405_and_extra_routes_are_served() {
    let g = start_with(false, settings(), |api| {
        api.with_route(
            Method::GET,
            "/v1/ratelimit",
            false,
            Arc::new(|call| {
                Box::pin(async move {
                    json(
                        StatusCode::OK,
                        &serde_json::json!({"caller": call.principal}),
                    )
                })
            }),
        )
    })
    .await;
    let alice = g.client("alice");
    assert_eq!(
        alice
            .call(Method::GET, "/v1/nothing", None)
            .await
            .unwrap()
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alice
            .call(Method::PUT, "/v1/requests", None)
            .await
            .unwrap()
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let extra = alice
        .call(Method::GET, "/v1/ratelimit", None)
        .await
        .unwrap();
    assert_eq!(
        (extra.status, extra.body["caller"].as_str()),
        (StatusCode::OK, Some(ALICE))
    );
    let anon = g
        .client("")
        .call(Method::GET, "/v1/ratelimit", None)
        .await
        .unwrap();
    assert_eq!(
        anon.status,
        StatusCode::UNAUTHORIZED,
        "extra routes are authenticated unless public"
    );
}

#[tokio::test]
async fn a_client_certificate_authenticates_its_cn() {
    let g = start_with(true, settings(), |a| a).await;
    let with_cert = runspace_gateway::admin::client::AdminClient::with_identity(
        &g.url(),
        "",
        &g.pki.ca,
        Some((&g.pki.client_cert, &g.pki.client_key)),
    )
    .unwrap();
    g.workflow
        .create_request(
            ALICE,
            runspace_gateway::workflow::RequestInput {
                task: Some("New-JournalRule".into()),
                reason: Some("x".into()),
                hours: None,
            },
        )
        .await
        .unwrap();
    let a = with_cert
        .call(
            Method::POST,
            "/v1/requests/R-1/deny",
            Some(json!({"comment": "no"})),
        )
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.body["decided_by"].as_str()),
        (StatusCode::OK, Some(BOB)),
        "{:?}",
        a.body
    );
    let without = g
        .client("")
        .call(Method::GET, "/v1/grants", None)
        .await
        .unwrap();
    assert_eq!(
        without.status,
        StatusCode::UNAUTHORIZED,
        "no certificate and no token"
    );
}

#[tokio::test]
async fn the_client_says_what_to_check_when_it_cannot_connect() {
    let g = start().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let c = runspace_gateway::admin::client::AdminClient::new(
        &format!("https://{closed}"),
        "alice",
        &g.pki.ca,
    )
    .unwrap();
    let e = c.call(Method::GET, "/healthz", None).await.unwrap_err();
    assert!(
        e.contains(&closed.to_string()) && e.contains("--admin"),
        "{e}"
    );
    let other = tempfile::tempdir().unwrap();
    let foreign = pki(other.path());
    let c =
        runspace_gateway::admin::client::AdminClient::new(&g.url(), "alice", &foreign.ca).unwrap();
    let e = c.call(Method::GET, "/healthz", None).await.unwrap_err();
    assert!(e.contains("--ca"), "{e}");
    let e = runspace_gateway::admin::client::AdminClient::new("http://127.0.0.1:1", "a", &g.pki.ca)
        .err()
        .unwrap();
    assert!(e.contains("https://"), "{e}");
}
