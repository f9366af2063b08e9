//! Sending email over SMTP (`LOPHOC_SMTP_URL`).

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::model::MailMessage;

/// How long one message may take, from connecting to the server's last
/// answer: lettre's own timeout covers only the connection, and a server
/// that stalls must not hold the dispatcher. Well under `CLAIM_LEASE`.
const SEND_DEADLINE: Duration = Duration::from_secs(30);

/// The SMTP replies that refuse a recipient for good (no such mailbox, not
/// a mailbox name): trying again would not help. Every other refusal (a
/// wrong password, a relay that will not relay, TLS required) is kept and
/// retried, so that a setting put right sends what waited; the backlog
/// shows meanwhile in `/health/ready`.
const RECIPIENT_REFUSED: [&str; 3] = ["550", "551", "553"];

/// How a try to send went, with why in words that name no one (the
/// server's own text may hold the address, so only its code is kept).
#[derive(Debug)]
pub enum Sending {
    Sent,
    /// The server was unreachable, busy or refused for now: try again later.
    Retry(String),
    /// The recipient is refused for good, or the address cannot be written
    /// in a message: do not try again.
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
    /// not answer within `timeout`.
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
            Err(err) => match err.status().map(|code| code.to_string()) {
                Some(code) if RECIPIENT_REFUSED.contains(&code.as_str()) => {
                    Sending::Refused(format!("the server answered {code}"))
                }
                Some(code) => Sending::Retry(format!("the server answered {code}")),
                None if err.is_timeout() => Sending::Retry("no answer in time".into()),
                None if err.is_tls() => Sending::Retry("TLS failed".into()),
                None => Sending::Retry("no connection to the server".into()),
            },
        }
    }
}
