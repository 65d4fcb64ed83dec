//! Child processes of a load test: this executable started in another role ([`Part`]) and
//! a scratch directory ([`TempDir`]).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// A child process of this executable, killed when dropped.
#[derive(Debug)]
pub struct Part {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// What it announced: the first line it printed after `listening `.
    pub announced: String,
}

impl Part {
    /// Starts this executable with `args` and `envs` and waits (at most 60 s) for the line
    /// `listening <what>` on its stdout (or, with `from_stderr`, for a line containing
    /// `open http://<addr>/` on its stderr, the server's log). The other output is drained
    /// and dropped.
    ///
    /// # Errors
    /// The process cannot start, exits, or says nothing in time.
    pub async fn start(
        args: &[&str],
        envs: &[(&str, &str)],
        remove_envs: &[&str],
        from_stderr: bool,
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find this executable")?;
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        for k in remove_envs {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {args:?}"))?;
        let pid = child.id().context("the child has no pid")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1);
        let watch = |r: Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                     tx: Option<tokio::sync::mpsc::Sender<String>>| {
            tokio::spawn(async move {
                let mut lines = BufReader::new(r).lines();
                let mut tx = tx;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(t) = &tx {
                        let found = if from_stderr {
                            line.split_once("open http://")
                                .and_then(|(_, rest)| rest.split('/').next())
                                .map(str::to_owned)
                        } else {
                            line.strip_prefix("listening ").map(str::to_owned)
                        };
                        if let Some(found) = found {
                            let _ = t.send(found).await;
                            tx = None;
                        }
                    }
                }
            })
        };
        if from_stderr {
            watch(Box::new(stderr), Some(tx));
            watch(Box::new(stdout), None);
        } else {
            watch(Box::new(stdout), Some(tx));
            watch(Box::new(stderr), None);
        }
        let announced = match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(a)) => a,
            Ok(None) => bail!("{args:?} exited before it was ready"),
            Err(_) => bail!("{args:?} was not ready within 60 s"),
        };
        Ok(Self {
            child,
            pid,
            announced,
        })
    }

    /// Kills the process and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates `preppal-loadtest-<pid>-<ns>` in the temporary directory.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "preppal-loadtest-{}-{}",
            std::process::id(),
            crate::loadtest::peer::now_ns()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
