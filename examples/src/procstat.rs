//! Child processes of a load test and their own accounting: CPU time from
//! `/proc/<pid>/stat` (`utime` + `stime`) and resident memory from `/proc/<pid>/status`
//! (`VmRSS`), both Linux.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// CPU time a process has used so far, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTime {
    /// User-mode time, ms.
    pub user_ms: f64,
    /// Kernel-mode time, ms.
    pub system_ms: f64,
}

impl CpuTime {
    /// User plus kernel time, ms.
    pub fn total_ms(self) -> f64 {
        self.user_ms + self.system_ms
    }

    /// The time used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_ms: self.user_ms - earlier.user_ms,
            system_ms: self.system_ms - earlier.system_ms,
        }
    }
}

/// Clock ticks per second of `/proc` CPU times (`getconf CLK_TCK`; 100 where it cannot be
/// asked, Linux's value on every common platform).
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// `utime` and `stime` of process `pid` (all its threads), from `/proc/<pid>/stat`.
///
/// # Errors
/// The file cannot be read (no such process, not Linux) or is not in the documented shape
/// (`proc(5)`: fields 14 and 15 after the parenthesised command name).
pub fn cpu_time(pid: u32, ticks_per_second: f64) -> anyhow::Result<CpuTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/<pid>/stat shape")?;
    // After ')': field 3 (state) is the first; utime is field 14, stime field 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<f64> {
        let v: f64 = fields
            .get(i)
            .context("short /proc/<pid>/stat")?
            .parse()
            .context("non-numeric CPU time in /proc/<pid>/stat")?;
        Ok(v * 1_000.0 / ticks_per_second)
    };
    Ok(CpuTime {
        user_ms: tick(11)?,
        system_ms: tick(12)?,
    })
}

/// Resident memory of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
/// The file cannot be read or has no `VmRSS` line.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/<pid>/status")?;
    Ok(kib * 1_024)
}

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
            preppal_gemini::simulator::load::now_ns()
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
