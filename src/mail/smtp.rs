//! Sending email over SMTP (`LOPHOC_SMTP_URL`).

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::model::MailMessage;

/// How a try to send went.
#[derive(Debug)]
pub enum Sending {
    Sent,
    /// The server was unreachable or busy: try again later.
    Retry(String),
    /// The server refused for good (an address it will never take), or
    /// the address cannot be written in a message: do not try again.
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
            Err(err) => return Sending::Refused(format!("recipient: {err}")),
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
            Err(err) => return Sending::Refused(err.to_string()),
        };
        match self.transport.send(email).await {
            Ok(_) => Sending::Sent,
            Err(err) if err.is_permanent() => Sending::Refused(err.to_string()),
            Err(err) => Sending::Retry(err.to_string()),
        }
    }
}
