//! Opening the interview WebSocket (binary protobuf frames, `proto/interview.proto`).

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open interview WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the interview WebSocket at `ws_url` (`ws://` or `wss://`, token included, as
/// `interview.generateWorkerToken` gives it) with `TCP_NODELAY` (the `true`): candidate
/// audio goes in 40 ms frames, and with Nagle's algorithm a frame written while the
/// previous one is unacknowledged would wait for the server's delayed ACK (up to 40 ms on
/// Linux).
///
/// # Errors
/// The URL is invalid, the connection is refused, or the server refuses the handshake
/// (for example 401 for a bad token, 409 while the interview is held elsewhere).
pub async fn open_socket(
    ws_url: &str,
) -> Result<(Socket, Response), tokio_tungstenite::tungstenite::Error> {
    tokio_tungstenite::connect_async_tls_with_config(ws_url, None, true, None).await
}
