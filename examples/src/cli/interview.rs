//! `preppal interview`: one whole mock interview against a running server.
//!
//! The flow, against the server's JSON API (`POST {server}/api/<router>.<procedure>`) and
//! the worker's interview socket:
//!
//! 1. `POST /api/auth/dev` signs in as a development user; the `session_token` goes in
//!    `Authorization: Bearer …` on every later call.
//! 2. `interview.createSession` with a fresh UUID v4 idempotency key (retried once with the
//!    same key after a network error), then `interview.generateWorkerToken` for the
//!    socket URL.
//! 3. On the socket (binary protobuf frames, `proto/interview.proto`): wait for
//!    `SessionStarted`; then, for each answer, wait for the interviewer's
//!    `TranscriptUpdate{turn_complete: true}` and answer with a WAV file (16 000 Hz mono
//!    PCM16LE `AudioChunk` frames at real-time pace divided by `--speed`, then 1.5 s of
//!    silence so the interviewer's voice activity detection hears the answer end) or a
//!    typed line (`TextInput`).
//! 4. After the last answer: wait for the interviewer's next turn, send `EndRequest`, wait
//!    for `SessionEnded`, close the socket.
//! 5. Poll `interview.getById` every 500 ms until COMPLETED or ERROR, fetch the transcript
//!    and feedback and print the report.
//!
//! A socket that drops before `SessionEnded` (the connection failed, or the server
//! restarted) is opened again: a fresh token from `interview.generateWsToken`, then the
//! socket, retried with capped exponential backoff (`backon`) for up to 90 s. The server
//! answers with `SessionResumed` (the transcript so far) and the run goes on where it
//! stopped: an audio answer from the frame that could not be sent, a wait for the
//! interviewer from what the replay says (its last turn finished: answer now).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use preppal_core::codec::{ClientMessage, PlaybackReport, MAX_TEXT_INPUT_BYTES};
use preppal_core::InterviewStatus;
use preppal_store::Interview;
use tokio::time::{sleep_until, timeout_at, Instant};
use tracing::info;

use super::audio::{self, SAMPLE_RATE_HZ};
use super::report::{AnswerTiming, InterviewReport, ReportError};
use super::socket::{LiveSocket, Rejoin, Turn, TURN_WAIT};
use super::InterviewArgs;
use crate::client::{ApiClient, PlanChoice};

/// Longest wait for `SessionEnded` after `EndRequest`.
const END_WAIT: Duration = Duration::from_secs(30);
/// Interval between `interview.getById` polls.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long to keep asking for feedback that is not there yet once the interview ended.
const FEEDBACK_GRACE: Duration = Duration::from_secs(5);

/// Runs one mock interview as described by `args` and prints its report on stdout:
/// one JSON [`InterviewReport`] with `--json`, markdown otherwise. Progress is logged with
/// `tracing`. See [`hold_interview`] for the flow and its bounds.
///
/// # Errors
/// Everything [`hold_interview`] fails on, and an interview that ends in ERROR (its report
/// is printed first).
pub async fn run_interview(args: InterviewArgs) -> anyhow::Result<()> {
    let report = hold_interview(&args).await?;
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!("{}", report.to_markdown());
    }
    if report.status == InterviewStatus::Error.as_str() {
        bail!("interview {} ended in ERROR", report.interview_id);
    }
    Ok(())
}

/// Runs one mock interview as described by `args` and returns its report, whatever the
/// interview's final status (COMPLETED or ERROR); prints nothing.
///
/// The whole run is bounded by `--timeout-secs`; each wait for the interviewer (its
/// start, each turn) by 60 s and the wait for `SessionEnded` by 30 s. If the server ends
/// the interview before the answers run out, the remaining answers are skipped and the
/// run finishes as usual.
///
/// # Errors
/// Unreadable job, resume, answers or WAV files; a refused or failed API call; a socket
/// that cannot be opened or closes before the interview starts; any wait that times out.
pub async fn hold_interview(args: &InterviewArgs) -> anyhow::Result<InterviewReport> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    match timeout_at(deadline, interview(args, deadline)).await {
        Ok(result) => result,
        Err(_) => bail!(
            "the interview did not finish within --timeout-secs {}",
            args.timeout_secs
        ),
    }
}

async fn interview(args: &InterviewArgs, deadline: Instant) -> anyhow::Result<InterviewReport> {
    let job_description = match &args.job {
        Some(path) => read_text(path, "job description")?,
        None => {
            info!("no --job: the bundled sample job description (senior backend engineer)");
            super::SAMPLE_JOB_DESCRIPTION.to_owned()
        }
    };
    let resume = match &args.resume {
        Some(path) => read_text(path, "resume")?,
        None => {
            info!("no --resume: the bundled sample resume (backend engineer)");
            super::SAMPLE_RESUME.to_owned()
        }
    };
    let answers = load_answers(args).await?;
    info!(answers = answers.len(), "answers loaded");

    let mut api = ApiClient::new(&args.server)?;
    api.sign_in(&args.email).await?;
    info!(email = %args.email, "signed in");
    let created = api
        .create_session(
            &job_description,
            &resume,
            &args.persona,
            args.duration_minutes,
            PlanChoice {
                round_type: args.round_type.as_deref(),
                difficulty: args.difficulty.as_deref(),
            },
        )
        .await?;
    let interview_id = created.id;
    info!(%interview_id, status = %created.status, "interview created");
    let token = api.worker_token(&interview_id).await?;
    info!(worker = %token.worker_url, "connecting to the worker named by the web tier");
    let mut live = LiveSocket::connect(&token.ws_url).await?;
    live.rejoin = Some(Rejoin {
        api: api.clone(),
        interview_id: interview_id.clone(),
    });
    let mut timing = Vec::new();
    let conversation = converse(&mut live, &answers, args, deadline, &mut timing).await;
    if conversation.is_err() {
        // Best effort: tell the worker we are leaving before the error is reported.
        let _ = live.send(ClientMessage::End).await;
    }
    live.close().await;
    conversation?;

    let ended = poll_until_terminal(&api, &interview_id, deadline).await?;
    let mut report = fetch_report(&api, &interview_id, ended.status, deadline)
        .await?
        .with_job(&job_description);
    report.answer_timing = timing;
    if ended.status == InterviewStatus::Error {
        report.error = Some(ReportError {
            kind: ended.error_kind,
            message: ended.error_message.unwrap_or_default(),
        });
    }
    Ok(report)
}

/// At `--speed` above 0, waits (as a listener would) until the interviewer's turn has
/// played on this client's clock and then `--answer-gap-ms`; tells the worker what was
/// played; returns the timing of the answer about to be sent. At `--speed 0` answers at
/// once.
async fn listen_then_answer(
    live: &mut LiveSocket,
    args: &InterviewArgs,
    answer: usize,
) -> Option<AnswerTiming> {
    let played = live.last_played.take()?;
    if args.speed > 0.0 {
        let at = played.ends_at + Duration::from_millis(args.answer_gap_ms);
        while !live.over() && Instant::now() < at {
            tokio::select! {
                () = sleep_until(at) => break,
                event = live.events.recv() => live.note(event),
            }
        }
    }
    live.pending_report = Some(PlaybackReport::new(played.audio_ms, false));
    let now = Instant::now();
    let gap_ms = if now >= played.ends_at {
        i64::try_from(now.duration_since(played.ends_at).as_millis()).unwrap_or(i64::MAX)
    } else {
        -i64::try_from(played.ends_at.duration_since(now).as_millis()).unwrap_or(i64::MAX)
    };
    Some(AnswerTiming {
        answer: u32::try_from(answer).unwrap_or(u32::MAX),
        question_audio_ms: played.audio_ms,
        gap_ms,
    })
}

/// The live part: answers in turn, then the end of the interview.
async fn converse(
    live: &mut LiveSocket,
    answers: &[Answer],
    args: &InterviewArgs,
    deadline: Instant,
    timing: &mut Vec<AnswerTiming>,
) -> anyhow::Result<()> {
    let within = |limit: Duration| (Instant::now() + limit).min(deadline);
    if !live.wait_started(within(TURN_WAIT)).await? {
        if live.ended.is_none() {
            bail!("the server closed the interview socket before the interview started");
        }
        return Ok(());
    }
    for (i, answer) in answers.iter().enumerate() {
        match live.wait_turn(within(TURN_WAIT)).await? {
            Turn::Complete => {}
            Turn::Over => {
                info!(
                    answered = i,
                    skipped = answers.len() - i,
                    "the interview ended before all answers were given"
                );
                return Ok(());
            }
        }
        live.turns_pending = 0;
        timing.extend(listen_then_answer(live, args, i + 1).await);
        match answer {
            Answer::Audio { path, samples } => {
                info!(
                    answer = i + 1,
                    file = %path.display(),
                    seconds = samples.len() as f64 / f64::from(SAMPLE_RATE_HZ),
                    "answering with audio"
                );
                live.send_audio(samples, args.frame_ms, args.speed).await?;
            }
            Answer::Text(text) => {
                info!(answer = i + 1, text = %text, "answering with text");
                live.typed_answer = Some(text.clone());
                live.send_surviving(ClientMessage::Text(text.clone()))
                    .await?;
            }
        }
    }
    if live.wait_turn(within(TURN_WAIT)).await? == Turn::Over {
        return Ok(());
    }
    // The closing turn is heard out too before hanging up.
    let _ = listen_then_answer(live, args, answers.len() + 1).await;
    info!("answers exhausted; ending the interview");
    live.send_surviving(ClientMessage::End).await?;
    live.wait_ended(within(END_WAIT)).await
}

/// Polls `interview.getById` every 500 ms until the status is COMPLETED or ERROR; returns
/// the interview as it ended.
async fn poll_until_terminal(
    api: &ApiClient,
    interview_id: &str,
    deadline: Instant,
) -> anyhow::Result<Interview> {
    let mut last = None;
    loop {
        let interview = api.interview(interview_id).await?.interview;
        if last != Some(interview.status) {
            info!(status = %interview.status, "interview status");
            last = Some(interview.status);
        }
        if interview.status.is_terminal() {
            return Ok(interview);
        }
        if Instant::now() + POLL_INTERVAL > deadline {
            bail!(
                "interview {interview_id} was still {} when the time limit ran out",
                interview.status
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Fetches the transcript and feedback of a finished interview. Feedback may be written a
/// moment after the status moves, so a missing one is asked for again for up to 5 s.
async fn fetch_report(
    api: &ApiClient,
    interview_id: &str,
    status: InterviewStatus,
    deadline: Instant,
) -> anyhow::Result<InterviewReport> {
    let transcript = api.transcript(interview_id).await?;
    let grace_end = (Instant::now() + FEEDBACK_GRACE).min(deadline);
    let (feedback, plan) = loop {
        let reply = api.feedback(interview_id).await?;
        if reply.feedback.is_some()
            || status == InterviewStatus::Error
            || Instant::now() + POLL_INTERVAL > grace_end
        {
            break (reply.feedback, reply.plan);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    Ok(
        InterviewReport::new(interview_id, status, &transcript.entries, feedback.as_ref())
            .with_plan(plan),
    )
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))
}

/// One answer: a recorded WAV file (already 16 000 Hz mono) or a typed line.
#[derive(Debug)]
enum Answer {
    Audio { path: PathBuf, samples: Vec<i16> },
    Text(String),
}

/// Loads every answer before anything is sent, so a bad file fails the run early:
/// the `--audio` files in order, then the non-empty lines of `--answers`.
async fn load_answers(args: &InterviewArgs) -> anyhow::Result<Vec<Answer>> {
    let mut answers = Vec::new();
    for path in &args.audio {
        let p = path.clone();
        let samples = tokio::task::spawn_blocking(move || audio::load_wav_16k_mono(&p))
            .await
            .context("the audio loading task failed")??;
        answers.push(Answer::Audio {
            path: path.clone(),
            samples,
        });
    }
    if let Some(path) = &args.answers {
        for (n, line) in read_text(path, "answers")?.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.len() > MAX_TEXT_INPUT_BYTES {
                bail!(
                    "{} line {}: an answer of {} bytes is longer than the {MAX_TEXT_INPUT_BYTES} bytes the server accepts",
                    path.display(),
                    n + 1,
                    line.len()
                );
            }
            answers.push(Answer::Text(line.to_owned()));
        }
    }
    Ok(answers)
}
