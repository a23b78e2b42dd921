//! The API's listener limits: how many connections at once, how long a client may take to send a request,
//! how long a request may be handled, and how long a connection may live.
//!
//! - **Connections**: at most `max_connections` are served at once. The next one is not accepted until a
//!   slot frees: it waits in the kernel's accept backlog (its TCP handshake completes, but nothing is read
//!   from it). Every connection frees its slot within `max_connection` at the latest, so a client that opens
//!   many idle connections delays others by at most `read_timeout`, never for ever.
//! - **One request per connection**: every answer carries `Connection: close`. The API is called a few times
//!   a minute by the LGWAN-side Mamori; a new TCP connection costs nothing there, and it makes the time limits
//!   below limits per request.
//! - **Reading**: the request's head and body must have arrived within `read_timeout` of the connection's
//!   accept; after that, reads fail and the connection is closed. A client that sends one byte a second
//!   (slowloris) is cut off at the limit however steadily it sends.
//! - **Handling**: a request is answered within `request_timeout`, else `503 {"error": "timeout"}`. The
//!   handler is not cancelled mid-way (a release half done would be a message sent but not recorded): it
//!   runs to its end on its own task, and what it did is visible to the next request.
//! - **Lifetime**: no read or write succeeds after `max_connection` (a client that never reads its answer).
//! - **TLS** (when configured): the handshake happens on the connection's first read, under the same read
//!   deadline, so a client that stalls in the handshake holds its slot no longer than one that stalls in its
//!   request, and the accept loop never waits for a handshake.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::serve::{IncomingStream, Listener};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The API listener's limits (part of [`crate::RelayLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    /// Connections served at once; more wait in the accept backlog.
    pub max_connections: usize,
    /// Time from a connection's accept until its request's head and body have been read.
    pub read_timeout: Duration,
    /// Time to handle a request once read.
    pub request_timeout: Duration,
    /// The longest a connection lives.
    pub max_connection: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
}

impl Default for ApiLimits {
    /// 32 connections; 10 s to send a request, 30 s to answer it, 60 s in all; bodies up to 16 KiB.
    fn default() -> Self {
        Self {
            max_connections: 32,
            read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connection: Duration::from_secs(60),
            max_body: 16 * 1024,
        }
    }
}

/// Serves `router` on `listener` under `limits` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ApiLimits,
    tls: Option<crate::tls::Acceptor>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router
        .layer(middleware::from_fn_with_state(limits, guard))
        .into_make_service_with_connect_info::<Connection>();
    let listener = GuardedListener {
        inner: listener,
        slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
        limits,
        tls,
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
}

/// A TCP listener that accepts only while a slot is free.
struct GuardedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    limits: ApiLimits,
    tls: Option<crate::tls::Acceptor>,
}

impl Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed; should it be, no connection is taken any more.
        let Ok(slot) = self.slots.clone().acquire_owned().await else {
            return std::future::pending().await;
        };
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let now = Instant::now();
        let io = GuardedStream {
            transport: match &self.tls {
                Some(tls) => Transport::Handshake(Box::new(tls.0.accept(stream))),
                None => Transport::Plain(stream),
            },
            _slot: slot,
            request_read: Arc::new(AtomicBool::new(false)),
            read_deadline: Box::pin(tokio::time::sleep_until(now + self.limits.read_timeout)),
            end_of_life: Box::pin(tokio::time::sleep_until(now + self.limits.max_connection)),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The bytes of a connection: plain TCP, or TLS once its handshake is done.
enum Transport {
    Plain(TcpStream),
    Handshake(Box<tokio_rustls::Accept<TcpStream>>),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// The handshake failed: every read and write fails.
    Closed,
}

impl Transport {
    /// Finishes the TLS handshake, if one is under way.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Transport::Handshake(accept) = self else {
            return Poll::Ready(Ok(()));
        };
        match Pin::new(accept.as_mut()).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(stream)) => {
                *self = Transport::Tls(Box::new(stream));
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                *self = Transport::Closed;
                Poll::Ready(Err(e))
            }
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

/// A connection holding its slot, with its read deadline and its end of life.
struct GuardedStream {
    transport: Transport,
    _slot: OwnedSemaphorePermit,
    /// Set once the request's body has been read: the read deadline no longer applies.
    request_read: Arc<AtomicBool>,
    read_deadline: Pin<Box<Sleep>>,
    end_of_life: Pin<Box<Sleep>>,
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.end_of_life.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(timed_out("the connection lived too long")));
        }
        if !self.request_read.load(Ordering::Acquire)
            && self.read_deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(timed_out("the request was not read in time")));
        }
        std::task::ready!(self.transport.poll_ready(cx))?;
        match &mut self.transport {
            Transport::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
            Transport::Handshake(_) | Transport::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.end_of_life.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(timed_out("the connection lived too long")));
        }
        std::task::ready!(self.transport.poll_ready(cx))?;
        match &mut self.transport {
            Transport::Plain(stream) => Pin::new(stream).poll_write(cx, data),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, data),
            Transport::Handshake(_) | Transport::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.transport {
            Transport::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
            Transport::Handshake(_) | Transport::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.transport {
            Transport::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Transport::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
            Transport::Handshake(_) | Transport::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// What a request knows of its connection: the switch that lifts the read deadline.
#[derive(Debug, Clone)]
struct Connection {
    request_read: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, GuardedListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Self {
            request_read: stream.io().request_read.clone(),
        }
    }
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "message": message })),
    )
        .into_response()
}

/// Reads the whole body (within the read deadline), lifts the deadline, then runs the request on its own
/// task within the request timeout; every answer closes the connection.
async fn guard(State(limits): State<ApiLimits>, request: Request, next: Next) -> Response {
    let connection = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|info| info.0.clone());
    let (parts, mut body) = request.into_parts();
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return close(refusal(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request was not received in time",
            ));
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limits.max_body {
                return close(refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is too large",
                ));
            }
            bytes.extend_from_slice(&data);
        }
    }
    if let Some(connection) = connection {
        connection.request_read.store(true, Ordering::Release);
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    let handling = tokio::spawn(next.run(request));
    let response = match tokio::time::timeout(limits.request_timeout, handling).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "an API request failed");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
        Err(_) => {
            tracing::warn!("an API request took too long; it finishes on its own");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; ask again later",
            )
        }
    };
    close(response)
}

fn close(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn a_request_handled_too_long_gets_503_and_its_handler_finishes_anyway() {
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        let router = Router::new().route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(Duration::from_millis(600)).await;
                done.store(true, Ordering::Release);
                "late"
            }),
        );
        let limits = ApiLimits {
            request_timeout: Duration::from_millis(200),
            ..ApiLimits::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            router,
            limits,
            None,
            std::future::pending(),
        ));

        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: relay\r\n\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("\"timeout\""), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
        assert!(started.elapsed() < Duration::from_millis(550));
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            finished.load(Ordering::Acquire),
            "the handler was not cancelled"
        );
    }
}
