//! Receivers the notification tests start on loopback: a webhook endpoint
//! and an SMTP server, each recording what it gets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A request a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// An HTTP endpoint on its own thread that records each request and
/// answers with the status set in `answer` (200 at first). It can stop and
/// start again on the same port, as a receiver that is down for a while.
pub struct WebhookReceiver {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
    server: Option<(ServerHandle, std::thread::JoinHandle<()>)>,
}

impl WebhookReceiver {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut receiver = Self {
            port,
            received: Default::default(),
            answer: Arc::new(AtomicU16::new(200)),
            server: None,
        };
        receiver.resume();
        receiver
    }

    /// A receiver whose port is known but which is not listening yet.
    pub fn down() -> Self {
        let mut receiver = Self::start();
        receiver.stop();
        receiver
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/lophoc", self.port)
    }

    pub fn answer_with(&self, status: u16) {
        self.answer.store(status, Ordering::SeqCst);
    }

    /// Starts listening again on the same port.
    pub fn resume(&mut self) {
        let (received, answer, port) = (self.received.clone(), self.answer.clone(), self.port);
        let (started, handle) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let (received, answer) = (received.clone(), answer.clone());
                    App::new().default_service(web::to(move |req: HttpRequest, body: String| {
                        let (received, answer) = (received.clone(), answer.clone());
                        async move {
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                                })
                                .collect();
                            received.lock().unwrap().push(Received { headers, body });
                            let status = answer.load(Ordering::SeqCst);
                            HttpResponse::build(status.try_into().unwrap()).body("hết chỗ")
                        }
                    }))
                })
                .workers(1)
                .bind(("127.0.0.1", port))
                .expect("the receiver's port is free")
                .run();
                started.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        self.server = Some((handle.recv().unwrap(), thread));
    }

    pub fn stop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            drop(handle.stop(false));
            thread.join().unwrap();
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have come (failing after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        wait_until(within, || {
            let received = self.received();
            (received.len() >= count).then_some(received)
        })
        .await
        .unwrap_or_else(|| panic!("{count} deliveries expected, got {:#?}", self.received()))
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `check` every 50 ms until it gives a value, for at most `within`.
pub async fn wait_until<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A message an SMTP receiver got.
#[derive(Clone, Debug)]
pub struct Mail {
    pub recipients: Vec<String>,
    /// The message as sent: headers, a blank line, the body.
    pub data: String,
}

impl Mail {
    fn headers(&self) -> Vec<(String, String)> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.replace("\r\n ", " ")
            .replace("\r\n\t", " ")
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers().into_iter().find(|(n, _)| n == name).map(|(_, v)| v).unwrap_or_default()
    }

    /// The subject, with its RFC 2047 encoded words decoded.
    pub fn subject(&self) -> String {
        decode_words(&self.header("subject"))
    }

    /// The text of a base64 body, decoded.
    pub fn text(&self) -> String {
        assert_eq!(self.header("content-transfer-encoding"), "base64", "{}", self.data);
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8(STANDARD.decode(clean).expect("base64")).expect("UTF-8")
    }
}

/// `=?utf-8?b?…?=` words decoded; other text kept, and the blanks between
/// two encoded words dropped, as RFC 2047 says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut after_encoded = false;
    for (n, word) in value.split(' ').enumerate() {
        let encoded = word.len() > 12
            && word[..10].eq_ignore_ascii_case("=?utf-8?b?")
            && word.ends_with("?=");
        if n > 0 && !(encoded && after_encoded) {
            out.push(' ');
        }
        match encoded {
            true => {
                let data = STANDARD.decode(&word[10..word.len() - 2]).expect("base64");
                out.push_str(&String::from_utf8(data).expect("UTF-8"));
            }
            false => out.push_str(word),
        }
        after_encoded = encoded;
    }
    out
}

/// A bare SMTP server on loopback, one thread per connection, that takes
/// every message and records it.
pub struct SmtpReceiver {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpReceiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<Mail>>> = Default::default();
        let kept = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let _ = converse(stream, &kept);
                });
            }
        });
        Self { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Mail> {
        wait_until(within, || {
            let mails = self.mails();
            (mails.len() >= count).then_some(mails)
        })
        .await
        .unwrap_or_else(|| panic!("{count} emails expected, got {:#?}", self.mails()))
    }
}

fn converse(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 receiver ESMTP\r\n")?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            out.write_all(b"250-receiver\r\n250 8BITMIME\r\n")?;
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            let to = line.trim_end()[8..].trim().trim_start_matches('<').trim_end_matches('>');
            recipients.push(to.to_owned());
            out.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            out.write_all(b"354 go on\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                lines.read_line(&mut line)?;
                if line == ".\r\n" || line.is_empty() {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail { recipients: recipients.clone(), data });
            out.write_all(b"250 OK queued\r\n")?;
        } else if command == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"250 OK\r\n")?;
        }
    }
}
