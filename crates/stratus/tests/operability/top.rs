//! `stratus top` in a real terminal: tmux runs it at 80×24 against a stratus under
//! load, and `capture-pane` reads the screen.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::admin::{config, load};
use crate::common::{Stratus, free_port, wait_for};

/// A tmux server of this test's own (`-L`), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        let found = Command::new("tmux").arg("-V").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "tmux is needed for this test (scripts/test installs Debian's tmux)"
        );
        Tmux {
            socket: format!("stratus-{name}-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "top"]).stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The figures of the row for `id` (`kind id in out refused failed ...`).
fn row<'a>(screen: &'a str, id: &str) -> Option<Vec<&'a str>> {
    screen
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.get(1) == Some(&id))
}

fn non_zero(figure: &str) -> bool {
    !matches!(figure, "–" | "0" | "0.0")
}

#[test]
fn top_shows_every_component_with_rates_and_the_queue_filling() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, admin, zpages) = (free_port(), free_port(), free_port());
    // A small queue in front of the down gateway, so that it visibly fills.
    let yaml = config(grpc, admin, zpages, ", queue_size: 50, num_consumers: 1");
    let mut st = Stratus::start(dir.path(), "top", &yaml);
    st.wait_running();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = load(grpc, stop.clone());

    let tmux = Tmux::new("top");
    let top = format!(
        "{} top --endpoint http://127.0.0.1:{admin}",
        env!("CARGO_BIN_EXE_stratus")
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "80",
        "-y",
        "24",
        &top,
    ]);
    assert!(started.status.success(), "{started:?}");

    let screen = wait_for("top to show rates and a filling queue", || {
        let screen = tmux.screen();
        let otlp = row(&screen, "otlp")?;
        let nop = row(&screen, "nop")?;
        let gateway = row(&screen, "otlp_grpc/gateway")?;
        let filling = gateway.iter().any(|c| c.starts_with("[#"));
        (non_zero(otlp[2]) && non_zero(nop[3]) && filling).then_some(screen)
    });
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();

    for id in [
        "otlp",
        "batch",
        "otlp_grpc/gateway",
        "nop",
        "admin",
        "zpages",
    ] {
        assert!(row(&screen, id).is_some(), "{id} missing:\n{screen}");
    }
    assert!(screen.contains("stratus 0.1.0  ready"), "{screen}");
    assert!(screen.contains("heap "), "{screen}");
    assert!(screen.contains("q quit"), "{screen}");
    assert!(screen.lines().count() <= 24 && screen.lines().all(|l| l.chars().count() <= 80));

    // `/` filters, `q` quits and gives the terminal back.
    tmux.run(&["send-keys", "-t", "top", "/", "gate", "Enter"]);
    wait_for("the filter to apply", || {
        let screen = tmux.screen();
        (row(&screen, "otlp_grpc/gateway").is_some() && row(&screen, "nop").is_none()).then_some(())
    });
    tmux.run(&["send-keys", "-t", "top", "q"]);
    wait_for("top to quit on q", || {
        (!tmux.run(&["has-session", "-t", "top"]).status.success()).then_some(())
    });
}
