//! A real SMTP server for tests: speaks enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT) over TCP on 127.0.0.1:0 and keeps every message it accepts. It can refuse the next N
//! transactions with a 451, to test retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as received (dot-stuffing removed).
    pub data: String,
}

impl Mail {
    /// The message with folded header lines joined (RFC 5322 folding).
    pub fn unfolded(&self) -> String {
        self.data.replace("\r\n ", " ").replace("\r\n\t", " ")
    }
}

#[derive(Default)]
pub struct Sink {
    pub mails: Mutex<Vec<Mail>>,
    pub refuse_next: AtomicUsize,
    pub arrived: tokio::sync::Notify,
}

impl Sink {
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
    pub fn to(&self, rcpt: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == rcpt))
            .collect()
    }
}

/// Start the sink; returns its port.
pub async fn start() -> (u16, Arc<Sink>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = Arc::new(Sink::default());
    let s = sink.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                let _ = session(tcp, s).await;
            });
        }
    });
    (port, sink)
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map(|i| i + 1).unwrap_or(0);
    let end = arg.find('>').unwrap_or(arg.len());
    arg.get(start..end).unwrap_or_default().to_string()
}

async fn session(tcp: tokio::net::TcpStream, sink: Arc<Sink>) -> std::io::Result<()> {
    let (read, mut write) = tcp.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            b"250 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            let refuse = sink.refuse_next.load(Ordering::SeqCst);
            if refuse > 0 {
                sink.refuse_next.store(refuse - 1, Ordering::SeqCst);
                b"451 4.3.0 try again later\r\n"
            } else {
                from = address(&line[10..]);
                b"250 ok\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line[8..]));
            b"250 ok\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            let mail = Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            };
            sink.mails.lock().unwrap().push(mail);
            sink.arrived.notify_waiters();
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"500 unknown command\r\n"
        };
        write.write_all(reply).await?;
    }
}
