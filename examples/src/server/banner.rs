//! What `preppal serve` prints on stdout once it listens, whatever the log level: the
//! address to open and who plays the interviewer, with the way to the real one when it is
//! the offline demo. The same facts go to the log as structured lines.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::args::GeminiArgs;

/// The URL a person on this machine opens for a server listening on `addr`. An
/// unspecified address (`0.0.0.0`, `::`) is reached through loopback.
pub(crate) fn open_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, addr.port()))
}

/// The sentence naming the interviewer that `gemini` selects (the same choice as
/// `interviewer` in this module's parent): an endpoint override, the Gemini Live API, or
/// the built-in simulator, which is an offline demo that does not understand answers.
pub(crate) fn interviewer_line(gemini: &GeminiArgs) -> &'static str {
    match (&gemini.url, &gemini.api_key) {
        (Some(_), _) => "Interviewer: the Live endpoint set by PREPPAL_GEMINI_URL.",
        (None, Some(_)) => "Interviewer: Gemini Live (GEMINI_API_KEY is set).",
        (None, None) => {
            "Interviewer: offline demo, a scripted interviewer that asks questions drawn from \
             the job description and resume but does not understand your answers. For the \
             real interviewer, start the server with GEMINI_API_KEY set to a Gemini API key \
             (https://aistudio.google.com/apikey)."
        }
    }
}

/// The lines `serve` prints on stdout once it listens on `addr`, each ending in `\n`:
/// the URL to open ([`open_url`]), then [`interviewer_line`].
pub(crate) fn serve_banner(addr: SocketAddr, gemini: &GeminiArgs) -> String {
    format!(
        "Preppal is running: open {}\n{}\n",
        open_url(addr),
        interviewer_line(gemini)
    )
}

/// Writes [`serve_banner`] to stdout. A stdout that cannot be written (closed, a full
/// disk) is logged, not fatal: the server runs without it.
pub(crate) fn print_serve_banner(addr: SocketAddr, gemini: &GeminiArgs) {
    let banner = serve_banner(addr, gemini);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(error = %e, "the start banner could not be written to stdout");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_opened_through_loopback() {
        let url = |s: &str| open_url(s.parse().expect("a socket address"));
        assert_eq!(url("127.0.0.1:3000"), "http://127.0.0.1:3000/");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/");
        assert_eq!(url("[::]:3000"), "http://[::1]:3000/");
        assert_eq!(url("192.0.2.7:80"), "http://192.0.2.7:80/");
    }

    #[test]
    fn the_banner_names_the_interviewer_and_the_way_to_the_real_one() {
        let addr: SocketAddr = "127.0.0.1:3000".parse().expect("a socket address");
        let offline = serve_banner(addr, &GeminiArgs::default());
        let lines: Vec<&str> = offline.lines().collect();
        assert_eq!(lines.len(), 2, "{offline}");
        assert_eq!(lines[0], "Preppal is running: open http://127.0.0.1:3000/");
        assert!(lines[1].contains("offline demo"), "{offline}");
        assert!(lines[1].contains("does not understand"), "{offline}");
        assert!(lines[1].contains("GEMINI_API_KEY"), "{offline}");

        let with_key = GeminiArgs {
            api_key: Some("secret-key".to_owned()),
            ..GeminiArgs::default()
        };
        let real = serve_banner(addr, &with_key);
        assert!(
            !real.contains("offline demo") && real.contains("Gemini Live"),
            "{real}"
        );
        assert!(!real.contains("secret-key"), "the key is never printed");

        let overridden = GeminiArgs {
            url: Some("ws://127.0.0.1:9/?key=secret-key".to_owned()),
            ..GeminiArgs::default()
        };
        let line = interviewer_line(&overridden);
        assert!(line.contains("PREPPAL_GEMINI_URL") && !line.contains("secret-key"));
    }
}
