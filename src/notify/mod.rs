//! Notifications: approvers are mailed when a request arrives, requesters when it is decided,
//! and an optional webhook (Slack/Teams) hears about both. Messages go through the store's
//! durable outbox, so a failed delivery never loses the request and is retried with backoff.

pub mod compose;
