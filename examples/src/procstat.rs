//! A process's own accounting, read from Linux's `/proc`: CPU time from
//! `/proc/<pid>/stat` (`utime` + `stime`) and resident memory from `/proc/<pid>/status`
//! (`VmRSS`). Used by the server's metrics and by the load test.

use anyhow::Context as _;

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
