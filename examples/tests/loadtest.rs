//! `preppal loadtest` end to end, small: 5 interviews for 3 s through the real binaries
//! (server, model peer, floor relay and floor peer each in their own process). Checks the
//! JSON report's shape and that frames flowed both ways in both phases; timings are
//! measured and reported, never asserted.

use std::process::Command;

use serde_json::Value;

fn number(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}

#[test]
fn five_interviews_for_three_seconds() {
    let out = Command::new(env!("CARGO_BIN_EXE_preppal"))
        .args([
            "loadtest",
            "--sessions",
            "5",
            "--seconds",
            "3",
            "--frame-ms",
            "20",
            "--json",
        ])
        .env_remove("GEMINI_API_KEY")
        .env_remove("PREPPAL_GEMINI_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadtest failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });

    assert_eq!(report["sessions"], 5);
    assert_eq!(report["frame_ms"], 20);
    assert!(report["kept_realtime"].is_boolean());
    for phase in [&report, &report["floor"]] {
        assert_eq!(phase["errors"], 0, "errors in {phase:#}");
        // 5 interviews × 3 s at 20 ms: 750 frames up; one 100 ms chunk per 100 ms down.
        let up = number(phase, "frames_up");
        let down = number(phase, "frames_down");
        assert!(up > 600.0 && up <= 750.0, "frames up: {up}");
        assert!(down > 100.0 && down <= 150.0, "frames down: {down}");
        assert!(number(phase, "cpu_ms_per_interview_second") >= 0.0);
        assert!(number(phase, "rss_bytes_per_interview").is_finite());
        let (p50, p99, max) = (
            number(phase, "latency_ms.p50"),
            number(phase, "latency_ms.p99"),
            number(phase, "latency_ms.max"),
        );
        assert!(p50 >= 0.0 && p50 <= p99 && p99 <= max, "{p50} {p99} {max}");
        assert!(number(phase, "latency_ms.up.samples") > 0.0);
        assert!(number(phase, "latency_ms.down.samples") > 0.0);
        assert!(number(phase, "frames_per_second.up") > 0.0);
    }
    // Every model chunk carries a transcript fragment through Preppal.
    assert!(number(&report, "transcript_updates") >= number(&report, "frames_down"));
    assert!(number(&report, "floor_cpu_ms_per_interview_second") >= 0.0);
    assert!(report["floor_rss_bytes_per_interview"].is_number());
}
