//! Telling people: the dispatcher that delivers the outbox's events as
//! webhooks and email, and the backlog operators watch.

pub mod backlog;
pub mod dispatcher;
