//! The `preppal interview` and `preppal export` command-line client.
//!
//! - `preppal interview` runs a whole mock interview against a running server, answering
//!   with recorded WAV files and/or typed lines, and prints the transcript and feedback
//!   ([`run_interview`], [`InterviewArgs`]; [`hold_interview`] returns the report instead).
//! - `preppal export` prints a kept interview straight from the database
//!   ([`run_export`], [`ExportArgs`]).
//!
//! Both print the same [`report::InterviewReport`]: one JSON object on stdout with `--json`
//! (or `--format json`), readable markdown otherwise. Progress is logged with `tracing`;
//! the binary sends logs to stderr so stdout stays clean for scripts.
//!
//! ```text
//! preppal interview --job backend-engineer.jd.txt --resume backend-engineer.resume.txt \
//!     --audio intro.wav --audio incident.wav --answers more-answers.txt --speed 2 --json
//! preppal interview --answers answers.txt   # the bundled sample job description and resume
//! preppal export 6f1c… --format markdown --data-dir preppal-data
//! ```

use std::path::PathBuf;

mod answers_md;
pub mod audio;
mod export;
mod interview;
pub mod markdown;
mod player;
pub mod report;
mod report_plan;
mod socket;

pub use export::{export_report, run_export};
pub use interview::{hold_interview, run_interview};

/// The sample job description `preppal interview` uses without `--job`: the repository's
/// `fixtures/interviews/backend-engineer.jd.txt`, compiled in so that the client works
/// from any directory (UTF-8 text).
pub const SAMPLE_JOB_DESCRIPTION: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/interviews/backend-engineer.jd.txt"
));

/// The sample resume `preppal interview` uses without `--resume`: the repository's
/// `fixtures/interviews/backend-engineer.resume.txt`, compiled in (UTF-8 text).
pub const SAMPLE_RESUME: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/interviews/backend-engineer.resume.txt"
));

/// Arguments of `preppal interview`: run one mock interview against a server.
#[derive(clap::Args, Debug, Clone)]
pub struct InterviewArgs {
    /// Base URL of the Preppal server (web tier).
    #[arg(long, env = "PREPPAL_SERVER", default_value = "http://127.0.0.1:3000")]
    pub server: String,

    /// Text file with the job description (default: the bundled sample,
    /// `fixtures/interviews/backend-engineer.jd.txt`, [`SAMPLE_JOB_DESCRIPTION`]).
    #[arg(long, value_name = "FILE")]
    pub job: Option<PathBuf>,

    /// Text file with the candidate's resume (default: the bundled sample,
    /// `fixtures/interviews/backend-engineer.resume.txt`, [`SAMPLE_RESUME`]).
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,

    /// A recorded answer (any WAV: PCM 8/16/24/32-bit or 32-bit float, any channels and
    /// rate). Repeat for several answers; they are used in order, before any `--answers`.
    #[arg(long = "audio", value_name = "WAV")]
    pub audio: Vec<PathBuf>,

    /// Text file of typed answers, one per non-empty line, sent after the audio answers.
    #[arg(long, value_name = "TEXTFILE")]
    pub answers: Option<PathBuf>,

    /// Audio pacing: 1.0 streams at real time, 2.0 twice as fast, 0 as fast as the server
    /// accepts.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,

    /// At `--speed` above 0: how long to wait after the interviewer's audio has played (on
    /// this client's own playback clock) before answering, in ms. The JSON report's
    /// `answer_timing` gives the gap actually left before each answer.
    #[arg(long, default_value_t = 800, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub answer_gap_ms: u64,

    /// Length of each audio frame sent, in ms (16 samples, 32 bytes per ms).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(10..=200))]
    pub frame_ms: u32,

    /// The interviewer persona.
    #[arg(long, default_value = "a friendly senior engineer")]
    pub persona: String,

    /// The interview's time limit, in minutes.
    #[arg(long, default_value_t = 10)]
    pub duration_minutes: u32,

    /// The round type: behavioral, technical, system_design or mixed (the server's
    /// default, mixed, when not given).
    #[arg(long, value_name = "TYPE")]
    pub round_type: Option<String>,

    /// The difficulty: junior, mid, senior or staff (the server's default, mid, when not
    /// given).
    #[arg(long, value_name = "LEVEL")]
    pub difficulty: Option<String>,

    /// Email of the development user to sign in as.
    #[arg(long, default_value = "candidate@example.com")]
    pub email: String,

    /// Print the report as one JSON object instead of markdown.
    #[arg(long)]
    pub json: bool,

    /// Overall time limit for the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
}

/// Output format of `preppal export`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// One JSON object (the [`report::InterviewReport`] shape).
    #[default]
    Json,
    /// Readable markdown.
    Markdown,
}

/// Arguments of `preppal export`: print a kept interview from the database.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// The interview's id.
    #[arg(value_name = "INTERVIEW_ID")]
    pub interview_id: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,

    /// The server's data directory; the default database is `{data_dir}/preppal.db`.
    #[arg(long, env = "PREPPAL_DATA_DIR", default_value = "preppal-data")]
    pub data_dir: PathBuf,

    /// Database URL (`sqlite://…` or `postgres://…`); overrides `--data-dir`.
    #[arg(long, env = "PREPPAL_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl ExportArgs {
    /// The database URL to open: `--database-url` if given, else
    /// `sqlite://{data_dir}/preppal.db`.
    pub fn resolved_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("preppal.db").display()),
        }
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err("must be a finite number >= 0 (0 = no pacing)".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    enum Cmd {
        Interview(InterviewArgs),
        Export(ExportArgs),
    }

    #[test]
    fn interview_defaults_and_ranges() {
        let Cmd::Interview(a) =
            Cmd::try_parse_from(["p", "interview", "--job", "j.txt", "--resume", "r.txt"]).unwrap()
        else {
            panic!("wrong subcommand")
        };
        assert_eq!(a.frame_ms, 40);
        assert_eq!(a.speed, 1.0);
        assert_eq!(a.duration_minutes, 10);
        assert_eq!(a.email, "candidate@example.com");
        assert_eq!(a.persona, "a friendly senior engineer");
        assert_eq!(a.timeout_secs, 600);
        assert!(a.audio.is_empty() && !a.json);
        assert_eq!(a.job.as_deref(), Some(std::path::Path::new("j.txt")));
        assert_eq!(a.resume.as_deref(), Some(std::path::Path::new("r.txt")));
        for bad in [
            ["--frame-ms", "5"],
            ["--frame-ms", "201"],
            ["--speed", "-1"],
            ["--speed", "nan"],
        ] {
            let mut argv = vec!["p", "interview", "--job", "j", "--resume", "r"];
            argv.extend(bad);
            assert!(Cmd::try_parse_from(argv).is_err(), "{bad:?} accepted");
        }
        // Without --job / --resume the bundled sample is used.
        let Cmd::Interview(a) =
            Cmd::try_parse_from(["p", "interview", "--answers", "a.txt"]).unwrap()
        else {
            panic!("wrong subcommand")
        };
        assert_eq!((a.job, a.resume), (None, None));
        assert!(SAMPLE_JOB_DESCRIPTION.contains("Senior Backend Engineer"));
        assert!(SAMPLE_RESUME.contains("Parcelwise"));
        let Cmd::Interview(a) = Cmd::try_parse_from([
            "p",
            "interview",
            "--job",
            "j",
            "--resume",
            "r",
            "--audio",
            "a.wav",
            "--audio",
            "b.wav",
            "--speed",
            "0",
            "--frame-ms",
            "200",
        ])
        .unwrap() else {
            panic!("wrong subcommand")
        };
        assert_eq!(a.audio, [PathBuf::from("a.wav"), PathBuf::from("b.wav")]);
        assert_eq!((a.speed, a.frame_ms), (0.0, 200));
    }

    #[test]
    fn export_database_url_defaults_to_data_dir() {
        let Cmd::Export(a) =
            Cmd::try_parse_from(["p", "export", "abc", "--data-dir", "d"]).unwrap()
        else {
            panic!("wrong subcommand")
        };
        assert_eq!(a.format, ExportFormat::Json);
        assert_eq!(a.resolved_database_url(), "sqlite://d/preppal.db");
        let Cmd::Export(a) = Cmd::try_parse_from([
            "p",
            "export",
            "abc",
            "--format",
            "markdown",
            "--database-url",
            "postgres://x/y",
        ])
        .unwrap() else {
            panic!("wrong subcommand")
        };
        assert_eq!(a.format, ExportFormat::Markdown);
        assert_eq!(a.resolved_database_url(), "postgres://x/y");
    }
}
