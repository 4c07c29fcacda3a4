//! Serving connections: HTTP/1.1 over hyper with a timer, so a client that
//! trickles its request, sends nothing or never reads its answer is cut off,
//! and a bound on connections served at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// What the HTTP server allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// The longest a client may take to send a request's headers, and to
    /// start its next request on a kept-alive connection: one that opens
    /// connections and trickles bytes (slowloris) or sends nothing is cut off.
    pub header_read_timeout: Duration,
    /// The longest an answer may wait for the client to take more of it: a
    /// client that asks and never reads is cut off.
    pub write_timeout: Duration,
    /// Connections served at once; more wait in the kernel's queue until one
    /// ends, so clients cannot spend every file descriptor the fetches need.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

/// Serves `app` over HTTP/1.1 on `listener` until `stop` resolves, then lets
/// the open connections finish their requests (the caller bounds how long).
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let places = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = accept_within(&listener, &places) => accepted,
        };
        let Some((socket, place)) = accepted else {
            continue;
        };
        let app = app.clone();
        let closed = closed.clone();
        connections.spawn(serve_connection(socket, app, limits, closed, place));
        while connections.try_join_next().is_some() {}
    }
    // New connections are refused at once, not left waiting for the drain.
    drop(listener);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// The next connection, once a place in `places` is free. None when accepting
/// failed: a connection reset before it was accepted is passed over; any other
/// error (out of descriptors) is logged and accepting resumes after a second.
async fn accept_within(
    listener: &TcpListener,
    places: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, OwnedSemaphorePermit)> {
    use std::io::ErrorKind;
    let place = places.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((socket, _)) => Some((socket, place)),
        Err(e) => {
            let gone = [
                ErrorKind::ConnectionAborted,
                ErrorKind::ConnectionReset,
                ErrorKind::ConnectionRefused,
            ];
            if !gone.contains(&e.kind()) {
                tracing::warn!("accepting an HTTP connection failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            None
        }
    }
}

/// Serves one connection until it ends, or finishes its request and closes
/// once `closed` turns true.
async fn serve_connection(
    socket: tokio::net::TcpStream,
    app: Router,
    limits: HttpLimits,
    mut closed: watch::Receiver<bool>,
    _place: OwnedSemaphorePermit,
) {
    let service = hyper_util::service::TowerToHyperService::new(app);
    let mut socket = tokio_io_timeout::TimeoutStream::new(socket);
    socket.set_write_timeout(Some(limits.write_timeout));
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(Box::pin(socket)), service);
    tokio::pin!(connection);
    let closing = async {
        let _ = closed.wait_for(|closed| *closed).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("an HTTP connection ended: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn clients_that_trickle_or_send_nothing_are_cut_off_and_others_served() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = HttpLimits {
            header_read_timeout: Duration::from_millis(300),
            max_connections: 2,
            ..HttpLimits::default()
        };
        let app = Router::new().route("/", get(|| async { "hello" }));
        tokio::spawn(serve_http(listener, app, limits, std::future::pending()));
        // Two clients take both places: one sends half its headers, one nothing.
        let mut trickling = TcpStream::connect(addr).await.unwrap();
        trickling
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut silent = TcpStream::connect(addr).await.unwrap();
        for client in [&mut trickling, &mut silent] {
            let mut rest = Vec::new();
            let cut = tokio::time::timeout(Duration::from_secs(20), client.read_to_end(&mut rest));
            assert!(
                cut.await.is_ok(),
                "a client without a request kept its connection"
            );
        }
        // Their places are free again: a third client is served.
        let answer = tokio::time::timeout(Duration::from_secs(20), get_small(addr)).await;
        let answer = answer.expect("the third client was not served");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
    }

    /// Serves a 50 MB answer at `/big` and a small one at `/` with `limits`.
    async fn big_and_small(limits: HttpLimits) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/", get(|| async { "hello" }))
            .route("/big", get(|| async { vec![b'x'; 50_000_000] }));
        tokio::spawn(serve_http(listener, app, limits, std::future::pending()));
        addr
    }

    /// Asks for `/` on a new connection; the whole answer.
    async fn get_small(addr: std::net::SocketAddr) -> String {
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        let _ = client.read_to_string(&mut answer).await;
        answer
    }

    #[tokio::test]
    async fn a_client_that_asks_and_never_reads_frees_its_place() {
        let limits = HttpLimits {
            write_timeout: Duration::from_millis(300),
            max_connections: 1,
            ..HttpLimits::default()
        };
        let addr = big_and_small(limits).await;
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(20), get_small(addr)).await;
        assert!(answer
            .expect("the stalled client kept the only place")
            .ends_with("hello"));
    }

    #[tokio::test]
    async fn once_stopping_new_connections_are_refused_while_others_finish() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", get(|| async { "hello" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let server = tokio::spawn(serve_http(listener, app, HttpLimits::default(), stopped));
        // A request half sent keeps the server draining.
        let mut half = TcpStream::connect(addr).await.unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!server.is_finished());
        let refused = TcpStream::connect(addr).await;
        assert!(
            refused.is_err(),
            "a new connection was accepted while draining"
        );
    }

    #[tokio::test]
    async fn connections_past_the_limit_wait_for_a_place() {
        let limits = HttpLimits {
            max_connections: 1,
            ..HttpLimits::default()
        };
        let addr = big_and_small(limits).await;
        let silent = TcpStream::connect(addr).await.unwrap();
        let waiting = tokio::spawn(get_small(addr));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!waiting.is_finished(), "a second connection was served");
        drop(silent);
        let answer = tokio::time::timeout(Duration::from_secs(20), waiting).await;
        assert!(answer.unwrap().unwrap().ends_with("hello"));
    }
}
