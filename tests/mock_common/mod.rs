//! Helpers for the mock endpoint's integration tests: start the mock in-process on port 0, send
//! raw HTTP requests, read SOAP responses and the captured vectors.
#![allow(dead_code)]

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use runspace_gateway::mock::{MockOptions, MockServer};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::oneshot;

/// A mock running on 127.0.0.1:0 until dropped.
pub struct RunningMock {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start(opts: MockOptions) -> RunningMock {
    let server = MockServer::bind("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    RunningMock {
        addr,
        stop: Some(tx),
    }
}

pub fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// One POST on a fresh connection; returns status, headers and body text.
pub async fn post(
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
    body: impl Into<Bytes>,
) -> (u16, http::HeaderMap, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::post(path).header("host", addr.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let req = req.body(Full::new(body.into())).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// `<CARGO_MANIFEST_DIR>/../shared/vectors/NAME`.
pub fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors")
        .join(name)
}

/// The request envelopes of a pypsrp capture (`- request: <...>` lines), in order.
pub fn capture_requests(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(vector(name)).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("- request: "))
        .map(str::to_owned)
        .collect()
}

/// Text of every element with this local name (namespace-agnostic on purpose: test-only).
pub fn element_texts(xml: &str, local: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = false;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) if e.local_name().as_ref() == local.as_bytes() => {
                inside = true;
                out.push(String::new());
            }
            quick_xml::events::Event::Text(t) if inside => {
                if let Some(last) = out.last_mut() {
                    last.push_str(&t.decode().unwrap());
                }
            }
            quick_xml::events::Event::End(e) if e.local_name().as_ref() == local.as_bytes() => {
                inside = false
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The value of attribute `attr` on the first element with this local name.
pub fn attribute(xml: &str, local: &str, attr: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == local.as_bytes() =>
            {
                return e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == attr.as_bytes())
                    .map(|a| String::from_utf8(a.value.to_vec()).unwrap());
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}
