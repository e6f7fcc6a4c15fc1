//! Notifications: approvers are mailed when a request arrives, requesters when it is decided,
//! and an optional webhook (Slack/Teams) hears about both.
//!
//! The workflow never sends anything itself: it queues messages in the store's outbox in the
//! same transaction as the change they describe. The [`outbox::OutboxWorker`] delivers them
//! through a [`Deliver`] implementation and retries failures with exponential backoff, so a
//! mail server being down never loses a request or its notification.

pub mod compose;
pub mod outbox;
pub mod smtp;
pub mod webhook;

use crate::config::NotifyConfig;
use crate::store::{Channel, OutboxMessage};
use crate::workflow::BoxFuture;

/// Delivers one message; `Err` carries a reason worth logging (and is retried).
pub trait Deliver: Send + Sync + 'static {
    fn deliver<'a>(&'a self, message: &'a OutboxMessage) -> BoxFuture<'a, Result<(), String>>;
}

/// Routes each message to the channel it names.
pub struct Notifier {
    smtp: Option<smtp::Mailer>,
    webhook: Option<webhook::Webhook>,
}

impl Notifier {
    /// From `[notify]`; channels not configured refuse their messages with a clear error.
    pub fn from_config(c: &NotifyConfig) -> Result<Notifier, String> {
        Ok(Notifier {
            smtp: c.smtp.as_ref().map(smtp::Mailer::from_config).transpose()?,
            webhook: c
                .webhook
                .as_ref()
                .map(|w| webhook::Webhook::new(&w.url))
                .transpose()?,
        })
    }
}

impl Deliver for Notifier {
    fn deliver<'a>(&'a self, m: &'a OutboxMessage) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match (&m.channel, &self.smtp, &self.webhook) {
                (Channel::Email(to), Some(mailer), _) => mailer.send(to, &m.subject, &m.body).await,
                (Channel::Webhook, _, Some(hook)) => hook.post(&m.subject, &m.body).await,
                (Channel::Email(_), None, _) => Err("[notify.smtp] is not configured".into()),
                (Channel::Webhook, _, None) => Err("[notify.webhook] is not configured".into()),
            }
        })
    }
}
