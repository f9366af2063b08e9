//! Sending email over SMTP (`LOPHOC_SMTP_URL`).

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::model::MailMessage;

/// How long one message may take, from connecting to the server's last
/// answer: lettre's own timeout covers only the connection, and a server
/// that stalls must not hold the dispatcher. Half of `CLAIM_LEASE`, and a
/// claim takes only as many messages as go at once (see `notify`).
pub const SEND_DEADLINE: Duration = Duration::from_secs(30);

/// How a try to send went, with why in words that name no one (the
/// server's own text may hold the address, so only its code is kept).
///
/// Every refusal from the server is retried until the message is given up:
/// the same codes (550, 553) say "no such mailbox" and "relaying denied",
/// and a wrong setting (a password, a relay, TLS) must not drop every
/// email at once. Put right within the day, it sends what waited; the
/// backlog shows meanwhile in `/health/ready`.
#[derive(Debug)]
pub enum Sending {
    Sent,
    /// The server was unreachable, busy or refused: try again later.
    Retry(String),
    /// The address cannot be written in a message: do not try again.
    Refused(String),
}

/// The SMTP client of one dispatcher.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A client for `url` (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host`) sending as `from`, giving up on a server that does
    /// not take the connection within `timeout` (a whole message has
    /// [`SEND_DEADLINE`]).
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| format!("LOPHOC_SMTP_URL cannot be used: {err}"))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|err| format!("LOPHOC_MAIL_FROM: {err}"))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, message: &MailMessage) -> Sending {
        let to: Mailbox = match message.recipient.parse() {
            Ok(to) => to,
            Err(_) => return Sending::Refused("not an address a message can be sent to".into()),
        };
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            // The same id for every try: a server that got a message whose
            // answer was lost can tell the repeat.
            .message_id(Some(format!("<{}@lophoc>", message.id)))
            // Vietnamese is mostly not ASCII: base64 keeps it whole through
            // any relay, and is what every mail reader decodes.
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::Base64)
                    .body(message.body.clone()),
            );
        let email = match email {
            Ok(email) => email,
            Err(_) => return Sending::Refused("the message could not be built".into()),
        };
        let sent = match tokio::time::timeout(SEND_DEADLINE, self.transport.send(email)).await {
            Ok(sent) => sent,
            Err(_) => return Sending::Retry("no answer in time".into()),
        };
        match sent {
            Ok(_) => Sending::Sent,
            Err(err) => Sending::Retry(match err.status() {
                Some(code) => format!("the server answered {code}"),
                None if err.is_timeout() => "no answer in time".into(),
                None if err.is_tls() => "TLS failed".into(),
                None => "no connection to the server".into(),
            }),
        }
    }
}
