//! E-mail through SMTP (lettre), with the TLS mode and credentials of `[notify.smtp]`.

use crate::config::{SmtpConfig, SmtpTls};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Time allowed for one SMTP exchange (connect to QUIT).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error messages.
    server: String,
}

impl Mailer {
    pub fn from_config(c: &SmtpConfig) -> Result<Mailer, String> {
        let from: Mailbox = c.from.parse().map_err(|e| {
            format!(
                "notify.smtp.from {:?} is not an e-mail address: {e}",
                c.from
            )
        })?;
        let builder = match c.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(|e| format!("notify.smtp.host {:?}: {e}", c.host))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)
                .map_err(|e| format!("notify.smtp.host {:?}: {e}", c.host))?,
        };
        let mut builder = builder.port(c.port).timeout(Some(SMTP_TIMEOUT));
        match (&c.username, &c.password) {
            (Some(u), Some(p)) => {
                builder = builder.credentials(Credentials::new(u.clone(), p.clone()))
            }
            (None, None) => {}
            _ => return Err("notify.smtp: give both username and password, or neither".into()),
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            server: format!("{}:{}", c.host, c.port),
        })
    }

    /// Send one plain-text mail.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("{to:?} is not an e-mail address (check [users]): {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("cannot build the mail: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP server {} refused or failed: {e}", self.server))
    }
}
