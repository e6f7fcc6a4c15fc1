//! Graceful shutdown of the real binary on SIGTERM: stop accepting, finish what is in flight
//! within `[limits] shutdown_grace_ms`, then exit.

mod common;

use bytes::Bytes;
use common::*;
use http::Response;
use http_body_util::Full;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// An upstream that holds each response until the test releases it.
async fn held_upstream() -> (Upstream, Arc<Mutex<Option<oneshot::Sender<()>>>>) {
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release_rx = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let upstream = Upstream::start(move |_| {
        let release_rx = release_rx.clone();
        async move {
            if let Some(rx) = release_rx.lock().await.take() {
                let _ = rx.await;
            }
            Response::new(Full::new(Bytes::from_static(b"finished")))
        }
    })
    .await;
    (upstream, Arc::new(Mutex::new(Some(release_tx))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_and_refuses_new_connections() {
    let certs = Certs::new();
    let (mut upstream, release) = held_upstream().await;
    let mut gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let addr = gateway.addr;
    let config = certs.client_config();
    let mut client = HttpClient::connect(addr, &config).await.unwrap();
    let in_flight =
        tokio::spawn(async move { client.send(request("POST", "/wsman", "work")).await });
    upstream.next_seen().await; // the request is at the endpoint, waiting

    gateway.terminate();
    gateway.wait_for_log("no longer accepting").await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a new connection was accepted during shutdown"
    );

    let _ = release.lock().unwrap().take().unwrap().send(());
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"finished");
    let status = tokio::task::spawn_blocking(move || gateway.wait_exit())
        .await
        .unwrap()
        .expect("gateway exited");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_grace_period_a_request_still_in_flight_is_dropped_and_the_gateway_exits() {
    let certs = Certs::new();
    let (mut upstream, _release) = held_upstream().await;
    let mut gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .limits("shutdown_grace_ms = 300")
            .text(),
    );
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    let in_flight =
        tokio::spawn(async move { client.send(request("POST", "/wsman", "work")).await });
    upstream.next_seen().await;

    gateway.terminate();
    let status = tokio::task::spawn_blocking(move || {
        let status = gateway.wait_exit();
        (status, gateway)
    })
    .await
    .unwrap();
    assert!(status
        .0
        .expect("gateway exited after the grace period")
        .success());
    assert!(
        status.1.log().contains("grace period"),
        "{}",
        status.1.log()
    );
    assert!(
        in_flight.await.unwrap().is_err(),
        "the held request should have been cut off"
    );
}
