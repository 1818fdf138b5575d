//! A `moto_server` (the AWS service mock, PyPI `moto[server]`) on 127.0.0.1 for the
//! AWS exporters' tests.
//!
//! `moto_server` comes from the test virtualenv: the directory of the python in
//! `STRATUS_TEST_PYTHON` (which `scripts/test` sets up from
//! `tests/python/requirements.txt`). [`Moto::start`] runs it on a free port, waits
//! until it answers, and the server is killed when the [`Moto`] is dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::net::free_port;

/// How long `moto_server` may take to answer after starting.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `moto_server`; killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

/// The `moto_server` executable beside `STRATUS_TEST_PYTHON`.
pub fn moto_server_path() -> PathBuf {
    let python = std::env::var_os("STRATUS_TEST_PYTHON").unwrap_or_else(|| {
        panic!(
            "STRATUS_TEST_PYTHON is not set: run the tests through scripts/test, or point it \
             at the python of a virtualenv with moto[server] installed"
        )
    });
    let python = PathBuf::from(python);
    let Some(bin) = python.parent() else {
        panic!("STRATUS_TEST_PYTHON {} has no directory", python.display());
    };
    let path = bin.join("moto_server");
    assert!(
        path.exists(),
        "{} does not exist: install moto[server] into the test virtualenv",
        path.display()
    );
    path
}

impl Moto {
    /// Starts `moto_server` with moto's defaults (no signature checking).
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts `moto_server` with extra environment variables, such as
    /// `("INITIAL_NO_AUTH_ACTION_COUNT", "0")` to have moto check request signatures.
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let path = moto_server_path();
        let port = free_port();
        let mut cmd = Command::new(&path);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start {}: {e}", path.display()),
        };
        let mut moto = Moto { child, port };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited before answering: {status}");
            }
            if self.answers() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server on port {} did not answer within {START_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether moto answers an HTTP request on its moto-api endpoint.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(500),
        ) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = format!(
            "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = [0u8; 12];
        matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: the `endpoint` for AWS clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
