//! The connection under the HTTP layer. actix-http refuses a request it
//! cannot parse (a byte outside ASCII in the path, a malformed header), a
//! head too large (`431`) or too slow to arrive (`408`) itself, before any
//! route or middleware sees it, with an empty body. [`ProblemRefusals`]
//! rewrites those answers, as they are written, into the problem documents
//! every other refusal is.
//!
//! An answer of actix-http's own is told apart by its status (400, 408 or
//! 431) with `content-length: 0`: every answer of the application's with
//! such a status carries a problem (`problems::render_problems`). It is
//! always the last answer on its connection, so it ends the bytes written:
//! alone, or after the answers to requests that a client pipelined before
//! the one refused.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::conventions::{API_CONTENT_SECURITY_POLICY, PROTECTIVE_HEADERS};
use crate::error::{AppError, PROBLEM_CONTENT_TYPE};
use crate::lang::Lang;

/// A connection whose HTTP-layer refusals leave as problem documents.
pub struct ProblemRefusals<T> {
    io: T,
    /// A refusal being written as its problem answer.
    rewrite: Option<Rewrite>,
}

struct Rewrite {
    answer: Vec<u8>,
    /// How much of `answer` is written.
    written: usize,
    /// The length of actix's refusal it stands for: what the write of that
    /// refusal reports once the whole answer is out, and not before (actix
    /// closes the connection as soon as its refusal counts as written).
    replaces: usize,
}

impl<T> ProblemRefusals<T> {
    pub fn new(io: T) -> Self {
        Self { io, rewrite: None }
    }
}

impl<T: AsyncWrite + Unpin> ProblemRefusals<T> {
    /// Writes the rest of the rewritten answer, if any.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(rewrite) = &mut self.rewrite {
            while rewrite.written < rewrite.answer.len() {
                let rest = &rewrite.answer[rewrite.written..];
                match ready!(Pin::new(&mut self.io).poll_write(cx, rest))? {
                    0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    n => rewrite.written += n,
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemRefusals<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemRefusals<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.rewrite.is_none() {
            match ending_refusal(buf) {
                Some((0, answer)) => {
                    this.rewrite = Some(Rewrite { answer, written: 0, replaces: buf.len() });
                }
                // The answers before it first; actix then writes the rest.
                Some((start, _)) => return Pin::new(&mut this.io).poll_write(cx, &buf[..start]),
                None => return Pin::new(&mut this.io).poll_write(cx, buf),
            }
        }
        // actix writes the same refusal again after `Pending`.
        ready!(this.poll_rewrite(cx))?;
        let replaced = this.rewrite.take().map_or(0, |rewrite| rewrite.replaces);
        Poll::Ready(Ok(replaced))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_rewrite(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_rewrite(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Where the empty-bodied refusal of actix-http's own that ends `written`
/// starts, if one does, and the problem answer that replaces it.
fn ending_refusal(written: &[u8]) -> Option<(usize, Vec<u8>)> {
    // Checked first, as cheaply as can be, since every write passes here:
    // only an answer without a body ends with the blank line of a head.
    if !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    // Such a head is under 200 bytes; an answer's body before it may hold
    // anything, so only the last status line is looked at.
    let tail = written.len().saturating_sub(256);
    let start = tail + rfind(&written[tail..], b"HTTP/1.")?;
    as_problem(&written[start..]).map(|answer| (start, answer))
}

/// The problem answer that replaces `refusal`, when it is exactly one
/// empty-bodied refusal of actix-http's own.
fn as_problem(refusal: &[u8]) -> Option<Vec<u8>> {
    // "HTTP/1.1 400 Bad Request\r\n"
    let error = match refusal.get(..12)? {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', _, b' ', status @ ..] => match status {
            b"400" => AppError::MalformedRequest,
            b"408" => AppError::RequestTimeout,
            b"431" => AppError::HeadersTooLarge,
            _ => return None,
        },
        _ => return None,
    };
    let head_len = find(refusal, b"\r\n\r\n")? + 4;
    if head_len != refusal.len() {
        return None;
    }
    let head = refusal;
    let empty_body = b"\r\ncontent-length: 0\r\n";
    let at = find(head, empty_body)?;
    // The status line and actix's other headers (`date`, `connection`),
    // without the length, which changes.
    let mut answer = Vec::with_capacity(1024);
    answer.extend_from_slice(&head[..at + 2]);
    answer.extend_from_slice(&head[at + empty_body.len()..head_len - 2]);

    let body = serde_json::to_vec(&error.problem(Lang::En)).ok()?;
    let mut header = |name: &str, value: &str| {
        answer.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    };
    header("content-type", PROBLEM_CONTENT_TYPE);
    header("content-length", &body.len().to_string());
    for (name, value) in PROTECTIVE_HEADERS {
        header(name.as_str(), value);
    }
    header("content-security-policy", API_CONTENT_SECURITY_POLICY);
    header("cache-control", "no-store");
    // actix closes the connection after these refusals; the client should
    // know.
    if find(head, b"\r\nconnection: close\r\n").is_none() {
        header("connection", "close");
    }
    answer.extend_from_slice(b"\r\n");
    answer.extend_from_slice(&body);
    Some(answer)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(refusal: &[u8]) -> Option<String> {
        let (start, answer) = ending_refusal(refusal)?;
        assert_eq!(start, 0);
        Some(String::from_utf8(answer).unwrap())
    }

    #[test]
    fn an_empty_refusal_becomes_a_problem_with_the_same_status_and_date() {
        let written = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Thu, 03 Dec 2026 18:20:56 GMT\r\n\r\n";
        let answer = rewritten(written).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("\r\ndate: Thu, 03 Dec 2026 18:20:56 GMT"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/problem+json"), "{head}");
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())), "{head}");
        assert!(head.contains("\r\nx-content-type-options: nosniff"), "{head}");
        assert_eq!(head.matches("connection: close").count(), 1, "{head}");
        assert!(!head.contains("content-length: 0"), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["code"], "malformed_request");
    }

    #[test]
    fn a_pipelined_refusal_without_connection_close_gets_one() {
        let written =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = rewritten(written).unwrap();
        assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
        assert!(answer.contains("\"code\":\"headers_too_large\""), "{answer}");
    }

    #[test]
    fn a_refusal_after_pipelined_answers_is_found_where_it_starts() {
        let answers = b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
        let refusal = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let written = [&answers[..], refusal].concat();
        assert_eq!(ending_refusal(&written).map(|(start, _)| start), Some(answers.len()));
    }

    /// A socket that takes at most 16 bytes a call, and every other call
    /// none yet.
    #[derive(Default)]
    struct SlowSocket {
        sent: Vec<u8>,
        calls: usize,
    }

    impl AsyncWrite for SlowSocket {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                return Poll::Pending;
            }
            let n = buf.len().min(16);
            self.sent.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_refusal_counts_as_written_only_once_its_whole_answer_is() {
        let refusal = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let expected = ending_refusal(refusal).unwrap().1;
        let mut connection = ProblemRefusals::new(SlowSocket::default());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut polls = 0;
        // As actix does: the same bytes again after each `Pending`.
        let reported = loop {
            polls += 1;
            match Pin::new(&mut connection).poll_write(&mut cx, refusal) {
                Poll::Ready(reported) => break reported.unwrap(),
                Poll::Pending => assert!(polls < 1000),
            }
        };
        assert_eq!(reported, refusal.len());
        assert_eq!(connection.io.sent, expected, "the whole answer, once");
        assert!(polls >= expected.len() / 16, "it waited for the socket: {polls} polls");
    }

    #[test]
    fn the_applications_answers_pass_untouched() {
        for written in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 170\r\n\r\n{\"code\":",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            // A head not yet whole is never guessed at.
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"HTTP/1.1 40",
            b"id,name\r\n",
            // Two heads: the last is not a refusal.
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ] {
            assert!(ending_refusal(written).is_none(), "{}", String::from_utf8_lossy(written));
        }
    }
}
