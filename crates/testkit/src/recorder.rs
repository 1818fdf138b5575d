//! What the recording servers ([`crate::http::RecordingHttpServer`],
//! [`crate::grpc::OtlpGrpcSink`]) share: binding a loopback port, the requests
//! received, the script of answers, and waiting for requests.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::wait;

/// An answer a server can be scripted with.
pub(crate) trait Scripted: Clone {
    /// How long to wait before answering.
    fn delay(&self) -> Duration;
}

/// The requests `R` a server received and the answers `A` it gives: queued ones
/// first, then a default.
pub(crate) struct Recorder<R, A> {
    state: Mutex<State<R, A>>,
    changes: watch::Sender<u64>,
}

struct State<R, A> {
    requests: Vec<R>,
    script: VecDeque<A>,
    default: A,
}

impl<R: Clone, A: Scripted> Recorder<R, A> {
    /// Nothing received, nothing queued, `default` as the answer.
    pub(crate) fn new(default: A) -> Self {
        Recorder {
            state: Mutex::new(State {
                requests: Vec::new(),
                script: VecDeque::new(),
                default,
            }),
            changes: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<R, A>> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records a request and returns the answer due, once its delay has passed.
    pub(crate) async fn record(&self, request: R) -> A {
        let answer = {
            let mut s = self.lock();
            s.requests.push(request);
            s.script.pop_front().unwrap_or_else(|| s.default.clone())
        };
        self.changes.send_modify(|v| *v += 1);
        let delay = answer.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        answer
    }

    /// Records a request and returns the scripted answer due (once its delay has
    /// passed), or `None` when nothing is queued: a proxy forwards the request then,
    /// instead of giving the default answer.
    pub(crate) async fn record_scripted(&self, request: R) -> Option<A> {
        let answer = {
            let mut s = self.lock();
            s.requests.push(request);
            s.script.pop_front()
        };
        self.changes.send_modify(|v| *v += 1);
        if let Some(answer) = &answer {
            let delay = answer.delay();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        answer
    }

    /// Queues an answer after those queued before.
    pub(crate) fn respond(&self, answer: A) {
        self.lock().script.push_back(answer);
    }

    /// Queues the same answer `n` times.
    pub(crate) fn respond_times(&self, n: usize, answer: A) {
        self.lock().script.extend(std::iter::repeat_n(answer, n));
    }

    /// The answer given once the queue is empty.
    pub(crate) fn default_answer(&self) -> A {
        self.lock().default.clone()
    }

    /// The answer once the queue is empty.
    pub(crate) fn set_default(&self, answer: A) {
        self.lock().default = answer;
    }

    /// Every request so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<R> {
        self.lock().requests.clone()
    }

    /// Removes and returns the requests so far.
    pub(crate) fn take_requests(&self) -> Vec<R> {
        std::mem::take(&mut self.lock().requests)
    }

    /// Reads the requests so far without copying them.
    pub(crate) fn with_requests<T>(&self, read: impl FnOnce(&[R]) -> T) -> T {
        read(&self.lock().requests)
    }

    /// Waits until at least `n` requests arrived and returns every request; panics
    /// after `timeout` with `what` and each request as `seen` shows it.
    pub(crate) async fn wait_for<D: Debug>(
        &self,
        what: &str,
        n: usize,
        timeout: Duration,
        seen: impl Fn(&R) -> D,
    ) -> Vec<R> {
        wait::on_change(
            what,
            timeout,
            &self.changes,
            || {
                let s = self.lock();
                (s.requests.len() >= n).then(|| s.requests.clone())
            },
            || {
                let s = self.lock();
                let seen: Vec<D> = s.requests.iter().map(&seen).collect();
                format!("got {}: {seen:?}", s.requests.len())
            },
        )
        .await
    }
}

/// Binds 127.0.0.1 on a port the OS chooses. Panics naming `server` when it cannot.
pub(crate) async fn bind_loopback(server: &str) -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{server} cannot bind 127.0.0.1:0: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{server} has no local address: {e}"));
    (listener, addr)
}

/// The public methods of a recording server with fields `addr: SocketAddr` and
/// `shared: Arc<Recorder<$request, $answer>>`: answers are passed as `$arg`, `$one`
/// and `$many` name what it receives (`export`, `exports`), `$initially` is its first
/// default answer, `$what` the requests waited for, and `$seen` shows a request in a
/// timeout's message.
macro_rules! recording_methods {
    (
        $request:ty, $arg:ident: $answer:ty, $one:literal, $many:literal,
        initially $initially:literal,
        $(#[$url_doc:meta])* waits for $what:literal showing $seen:expr
    ) => {
        /// The address served.
        pub fn addr(&self) -> std::net::SocketAddr {
            self.addr
        }

        $(#[$url_doc])*
        pub fn url(&self) -> String {
            format!("http://{}", self.addr)
        }

        #[doc = concat!("Queues an answer for one ", $one, ", after those queued before.")]
        pub fn respond(&self, $arg: $answer) {
            self.shared.respond($arg);
        }

        #[doc = concat!("Queues the same answer for the next `n` ", $many, ".")]
        pub fn respond_times(&self, n: usize, $arg: $answer) {
            self.shared.respond_times(n, $arg);
        }

        #[doc = concat!("The answer once the queue is empty (initially ", $initially, ").")]
        pub fn set_default(&self, $arg: $answer) {
            self.shared.set_default($arg);
        }

        #[doc = concat!("Every ", $one, " received so far, in arrival order.")]
        pub fn requests(&self) -> Vec<$request> {
            self.shared.requests()
        }

        #[doc = concat!("Removes and returns the ", $many, " received so far.")]
        pub fn take_requests(&self) -> Vec<$request> {
            self.shared.take_requests()
        }

        #[doc = concat!("How many ", $many, " were received.")]
        pub fn request_count(&self) -> usize {
            self.shared.with_requests(<[$request]>::len)
        }

        #[doc = concat!(
            "Waits until at least `n` ", $many, " arrived and returns every ", $one,
            "; panics after `timeout`."
        )]
        pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<$request> {
            let what = format!(concat!("{} ", $what, " at {}"), n, self.addr);
            self.shared.wait_for(&what, n, timeout, $seen).await
        }
    };
}
pub(crate) use recording_methods;
