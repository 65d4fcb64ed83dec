//! The floor: a plain loopback TCP relay that does only what any relay of this traffic must
//! do, the length-prefixed copying and the base64 both ways, and its model peer.
//!
//! Frames on every connection are a little-endian u32 length, then that many bytes.
//! - client → relay: a raw candidate frame (PCM16LE 16 000 Hz, [`UpStamp`] first);
//! - relay → peer: the same frame in base64;
//! - peer → relay: a 100 ms model chunk (4 800 bytes of PCM16LE 24 000 Hz, [`DownStamp`]
//!   first) in base64, one per 100 ms of candidate audio received;
//! - relay → client: the chunk decoded.
//!
//! [`UpStamp`]: super::peer::UpStamp
//! [`DownStamp`]: super::peer::DownStamp

use std::net::SocketAddr;

use anyhow::Context as _;
use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::peer::{now_ns, LoadPeerState, CHUNK_BYTES};

/// Read buffer per direction of a floor connection, in bytes.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Largest frame accepted on a floor connection, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Reads one length-prefixed frame into `buf` (replacing its contents); `Ok(false)` at a
/// clean end of stream.
///
/// # Errors
/// An I/O error, or a frame longer than [`MAX_FRAME_BYTES`].
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {MAX_FRAME_BYTES}"),
        ));
    }
    buf.resize(len, 0);
    r.read_exact(buf).await?;
    Ok(true)
}

/// Writes `payload` as one length-prefixed frame with one write, using `out` as scratch.
///
/// # Errors
/// An I/O error.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    out.clear();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    w.write_all(out).await
}

/// Runs the floor relay: accepts clients on `listener`, opens one connection to `peer` per
/// client, and relays both ways until either side closes.
pub async fn run_relay(listener: TcpListener, peer: SocketAddr) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(upstream) = TcpStream::connect(peer).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let (client_r, mut client_w) = client.into_split();
            let (peer_r, mut peer_w) = upstream.into_split();
            let up = tokio::spawn(async move {
                let mut r = BufReader::with_capacity(READ_BUFFER_BYTES, client_r);
                let (mut raw, mut b64, mut out) = (Vec::new(), String::new(), Vec::new());
                while let Ok(true) = read_frame(&mut r, &mut raw).await {
                    b64.clear();
                    base64::engine::general_purpose::STANDARD.encode_string(&raw, &mut b64);
                    if write_frame(&mut peer_w, b64.as_bytes(), &mut out)
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let mut r = BufReader::with_capacity(READ_BUFFER_BYTES, peer_r);
            let (mut b64, mut raw, mut out) = (Vec::new(), Vec::new(), Vec::new());
            while let Ok(true) = read_frame(&mut r, &mut b64).await {
                raw.clear();
                if base64::engine::general_purpose::STANDARD
                    .decode_vec(&b64, &mut raw)
                    .is_err()
                    || write_frame(&mut client_w, &raw, &mut out).await.is_err()
                {
                    break;
                }
            }
            up.abort();
        });
    }
}

/// Runs the floor's model peer: per connection, one base64 100 ms chunk per 100 ms of
/// base64 candidate audio received (see [`LoadPeerState`]).
pub async fn run_peer(listener: TcpListener) {
    while let Ok((conn, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = conn.set_nodelay(true);
            let (r, mut w) = conn.into_split();
            let mut r = BufReader::with_capacity(READ_BUFFER_BYTES, r);
            let mut state = LoadPeerState::default();
            let (mut b64, mut pcm, mut out) = (Vec::new(), Vec::new(), Vec::new());
            let (mut chunk, mut chunk64) = (vec![0u8; CHUNK_BYTES], String::new());
            while let Ok(true) = read_frame(&mut r, &mut b64).await {
                pcm.clear();
                if base64::engine::general_purpose::STANDARD
                    .decode_vec(&b64, &mut pcm)
                    .is_err()
                {
                    break;
                }
                for _ in 0..state.on_candidate_audio(&pcm, now_ns()) {
                    state.next_chunk(&mut chunk, now_ns());
                    chunk64.clear();
                    base64::engine::general_purpose::STANDARD.encode_string(&chunk, &mut chunk64);
                    if write_frame(&mut w, chunk64.as_bytes(), &mut out)
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
    }
}

/// Binds `127.0.0.1:0` (a port the OS picks).
///
/// # Errors
/// The bind error.
pub async fn bind_loopback() -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot bind 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}
