//! How a gRPC channel reaches its destination: TCP (to the endpoint's host, or to one
//! fixed address of it for `round_robin`), TLS when the endpoint uses it, and the
//! `read_buffer_size` / `write_buffer_size` buffers between the connection and the
//! HTTP/2 stack.
//!
//! The buffers are those of gRPC-Go's transport: the write buffer gathers HTTP/2 frames
//! until the stack flushes (or the buffer is full) and writes them in one go; the read
//! buffer reads up to its size per read from the connection. A size of `0` leaves the
//! stack reading and writing the connection directly.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_rustls::{
    FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream,
};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, BufWriter};
use tokio::net::TcpStream;

/// A connection (TCP, TLS if used) with `read_buffer_size` / `write_buffer_size`
/// buffers in front of it. Made by [`Dialer`], and by the `otlphttp` exporter's
/// connector, which marks connections to a forwarding proxy ([`Buffered::proxied`]).
pub struct Buffered {
    io: TokioIo<BufWriter<ReadSide>>,
    proxied: bool,
}

type Plain = TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// The connection with or without a read buffer (tokio's `BufReader` needs one of at
/// least one byte).
enum ReadSide {
    Direct(Plain),
    Buffered(BufReader<Plain>),
}

impl ReadSide {
    fn plain(&self) -> &Plain {
        match self {
            ReadSide::Direct(io) => io,
            ReadSide::Buffered(io) => io.get_ref(),
        }
    }
}

impl AsyncRead for ReadSide {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadSide::Direct(io) => Pin::new(io).poll_read(cx, buf),
            ReadSide::Buffered(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ReadSide {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ReadSide::Direct(io) => Pin::new(io).poll_write(cx, buf),
            ReadSide::Buffered(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadSide::Direct(io) => Pin::new(io).poll_flush(cx),
            ReadSide::Buffered(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadSide::Direct(io) => Pin::new(io).poll_shutdown(cx),
            ReadSide::Buffered(io) => Pin::new(io).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.plain().is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ReadSide::Direct(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            ReadSide::Buffered(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }
}

impl Buffered {
    /// `io` behind buffers of `read` and `write` bytes (`0`: none).
    pub fn new(io: MaybeHttpsStream<TokioIo<TcpStream>>, read: usize, write: usize) -> Self {
        Buffered {
            io: {
                let io = TokioIo::new(io);
                let read_side = match read {
                    0 => ReadSide::Direct(io),
                    n => ReadSide::Buffered(BufReader::with_capacity(n, io)),
                };
                // A write buffer of 0 bytes passes every write straight through.
                TokioIo::new(BufWriter::with_capacity(write, read_side))
            },
            proxied: false,
        }
    }

    /// The same connection, marked as one to a forwarding HTTP proxy (requests are
    /// then written in absolute form).
    pub fn proxied(mut self) -> Self {
        self.proxied = true;
        self
    }
}

impl hyper::rt::Read for Buffered {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Buffered {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

impl hyper_util::client::legacy::connect::Connection for Buffered {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        self.io
            .inner()
            .get_ref()
            .plain()
            .inner()
            .connected()
            .proxy(self.proxied)
    }
}

/// The connection a [`Dialer`] makes.
pub type Connection = Buffered;

/// The future of a [`Dialer`]'s connection.
pub type Connecting = std::pin::Pin<
    Box<dyn Future<Output = Result<Connection, Box<dyn std::error::Error + Send + Sync>>> + Send>,
>;

/// Connects a gRPC channel: to the URI it is given, or always to one fixed address.
#[derive(Clone)]
pub struct Dialer {
    inner: HttpsConnector<HttpConnector>,
    tls: bool,
    fixed: Option<SocketAddr>,
    read_buffer_size: usize,
    write_buffer_size: usize,
}

impl Dialer {
    /// A dialer that uses TLS (with `tls`: the rustls config and the name the server
    /// certificate is checked against) or plaintext, with the given buffer sizes.
    pub fn new(
        tls: Option<(
            Arc<rustls::ClientConfig>,
            rustls_pki_types::ServerName<'static>,
        )>,
        read_buffer_size: usize,
        write_buffer_size: usize,
    ) -> Result<Self, rustls::Error> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let is_tls = tls.is_some();
        let inner = match tls {
            Some((config, name)) => HttpsConnectorBuilder::new()
                .with_tls_config(Arc::unwrap_or_clone(config))
                .https_only()
                .with_server_name_resolver(FixedServerNameResolver::new(name))
                .enable_http2()
                .wrap_connector(tcp),
            None => {
                // Plaintext only: the TLS config is never used.
                let unused = rustls::ClientConfig::builder_with_provider(stratus_tls::provider())
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                HttpsConnectorBuilder::new()
                    .with_tls_config(unused)
                    .https_or_http()
                    .enable_http2()
                    .wrap_connector(tcp)
            }
        };
        Ok(Dialer {
            inner,
            tls: is_tls,
            fixed: None,
            read_buffer_size,
            write_buffer_size,
        })
    }

    /// The same dialer, always connecting to `addr` (TLS still checks the endpoint's
    /// name).
    pub fn to_address(&self, addr: SocketAddr) -> Self {
        Dialer {
            fixed: Some(addr),
            ..self.clone()
        }
    }
}

impl tonic::codegen::Service<Uri> for Dialer {
    type Response = Connection;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tonic::codegen::Service::<Uri>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let scheme = if self.tls {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        };
        let mut parts = uri.clone().into_parts();
        parts.scheme = Some(scheme);
        if let Some(addr) = self.fixed {
            match addr.to_string().parse() {
                Ok(authority) => parts.authority = Some(authority),
                Err(e) => return Box::pin(async move { Err(Box::new(e) as Self::Error) }),
            }
        }
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        // A URI with an authority stays valid with another scheme and authority; if
        // not, the connector refuses the original with its own error.
        let uri = Uri::from_parts(parts).unwrap_or(uri);
        let connecting = tonic::codegen::Service::<Uri>::call(&mut self.inner, uri);
        let (read, write) = (self.read_buffer_size, self.write_buffer_size);
        Box::pin(async move { Ok(Buffered::new(connecting.await?, read, write)) })
    }
}
