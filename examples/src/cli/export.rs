//! `preppal export`: print a kept interview straight from the database.

use anyhow::Context as _;

use super::report::InterviewReport;
use super::{ExportArgs, ExportFormat};

/// Opens the store at `args`' database URL (`--database-url`, else
/// `sqlite://{data_dir}/preppal.db`), reads the interview, its transcript and its feedback,
/// and prints the [`InterviewReport`] on stdout: one JSON object (`--format json`, the
/// shape `preppal interview --json` prints) or markdown.
///
/// The interview is read without an owner check: whoever can open the database may read
/// every interview in it.
///
/// # Errors
/// The store cannot be opened (unknown URL scheme, unreachable database, failed migration),
/// the interview does not exist, or a read fails.
pub async fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let url = args.resolved_database_url();
    tracing::info!(%url, interview_id = %args.interview_id, "exporting");
    let report = export_report(&url, &args.interview_id).await?;
    match args.format {
        ExportFormat::Json => println!("{}", report.to_json()?),
        ExportFormat::Markdown => println!("{}", report.to_markdown()),
    }
    Ok(())
}

/// The [`InterviewReport`] of interview `id` in the store at `url`, as `preppal export`
/// prints it. Metrics are those kept with the feedback; when none were kept they are
/// computed from the transcript and the interview's job-description snapshot (pauses
/// `null`: no audio is kept).
///
/// # Errors
/// As [`run_export`].
pub async fn export_report(url: &str, id: &str) -> anyhow::Result<InterviewReport> {
    let store = preppal_store::open(url)
        .await
        .with_context(|| format!("cannot open the store at {url}"))?;
    let interview = store
        .get_interview_unscoped(id)
        .await
        .with_context(|| format!("cannot read interview {id}"))?;
    let transcript = store
        .get_transcript(id)
        .await
        .with_context(|| format!("cannot read the transcript of interview {id}"))?;
    let feedback = store
        .get_feedback(id)
        .await
        .with_context(|| format!("cannot read the feedback of interview {id}"))?;
    let mut report = InterviewReport::new(
        interview.id,
        interview.status,
        &transcript,
        feedback.as_ref(),
    )
    .with_plan(interview.plan);
    report.compute_missing_metrics(&transcript, &interview.job_description_snapshot);
    Ok(report.with_job(&interview.job_description_snapshot))
}
