//! MLLP (0x0B … 0x1C 0x0D) over TCP: framing with a size limit, and the
//! three ways Baton sits in a live conversation: send scenarios to a
//! receiver, listen for a sender (answering with the granular receipt), and
//! relay between the two. Every exchange becomes a transcript entry.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::hl7;
use crate::replay;
use crate::workspace::Workspace;

pub const START: u8 = 0x0B;
pub const END: [u8; 2] = [0x1C, 0x0D];

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest message accepted, in bytes.
    pub max_bytes: usize,
    /// How long a read may wait for the next byte of a started frame, or for
    /// the first byte of the next one on an idle connection.
    pub read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            read_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("message over the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("the connection closed in the middle of a message (no end bytes 0x1C 0x0D)")]
    Truncated,
    #[error("no data for {0:?}")]
    Timeout(Duration),
    #[error("the sender stopped for {0:?} in the middle of a message")]
    Stalled(Duration),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes one framed message.
pub fn write_frame(w: &mut impl Write, message: &[u8]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(message.len() + 3);
    buf.push(START);
    buf.extend_from_slice(message);
    buf.extend_from_slice(&END);
    w.write_all(&buf)?;
    w.flush()
}

/// A frame read from a stream, with how many stray bytes came before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub payload: Vec<u8>,
    pub garbage: usize,
}

/// One byte, `None` at end of stream; a read timeout becomes `on_timeout`.
fn next_byte(r: &mut impl Read, on_timeout: FrameError) -> Result<Option<u8>, FrameError> {
    let mut byte = [0u8; 1];
    match r.read(&mut byte) {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(byte[0])),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(on_timeout)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the next frame. `Ok(None)`: the peer closed the connection between
/// frames. Bytes before the start byte are skipped and counted. Wrap a socket
/// in a `BufReader`: this reads a byte at a time.
pub fn read_frame(r: &mut impl Read, limits: &Limits) -> Result<Option<Frame>, FrameError> {
    let too_large = || FrameError::TooLarge {
        limit: limits.max_bytes,
    };
    let mut garbage = 0usize;
    // Find the start byte.
    loop {
        match next_byte(r, FrameError::Timeout(limits.read_timeout))? {
            None if garbage == 0 => return Ok(None),
            None => return Err(FrameError::Truncated),
            Some(START) => break,
            Some(_) => {
                garbage += 1;
                if garbage > limits.max_bytes {
                    return Err(too_large());
                }
            }
        }
    }
    let mut payload = Vec::new();
    loop {
        let Some(b) = next_byte(r, FrameError::Stalled(limits.read_timeout))? else {
            return Err(FrameError::Truncated);
        };
        payload.push(b);
        if payload.ends_with(&END) {
            payload.truncate(payload.len() - 2);
            return Ok(Some(Frame { payload, garbage }));
        }
        if payload.len() > limits.max_bytes + 2 {
            return Err(too_large());
        }
    }
}

/// One message exchanged, as recorded in the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Exchange {
    /// `send`, `listen`, `relay-in` or `relay-out`.
    pub leg: String,
    pub peer: String,
    /// Scenario id (send) or message control id (listen, relay).
    pub label: String,
    pub message: String,
    /// The ACK received (send, relay-out) or sent (listen, relay-in).
    pub ack: String,
    /// MSA-1 of that ACK.
    pub ack_code: String,
    /// Baton's own predicted receipt code for the message.
    pub predicted: String,
    /// The receiver's ACK disagrees with the prediction.
    pub mismatch: bool,
    pub latency_us: u64,
    pub retries: u32,
    /// What went wrong, if anything (timeout, closed, too large…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Stray bytes before the start byte.
    pub garbage_bytes: usize,
    /// When the exchange ended, UTC (RFC 3339); empty in records written
    /// before it was kept. (Not `at`: a session record has its own `at`.)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ended_at: String,
}

/// Now, UTC, to the second (RFC 3339).
fn now_utc() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// MSA-1 of an ACK text ("" when absent).
pub fn ack_code_of(ack: &str) -> String {
    hl7::parse_one(ack)
        .ok()
        .and_then(|m| m.get(&"MSA-1".parse().ok()?).map(str::to_string))
        .unwrap_or_default()
}

fn as_text(bytes: &[u8]) -> String {
    hl7::decode_bytes(bytes).0.into_owned()
}

#[derive(Debug, Clone)]
pub struct SendOptions {
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    /// Send the mapped message instead of the source.
    pub mapped: bool,
}

fn connect(addr: &str, o: &SendOptions) -> Result<(TcpStream, u32), String> {
    let mut attempt = 0;
    loop {
        let res = addr
            .to_socket_addrs()
            .map_err(|e| format!("{addr}: {e}"))
            .and_then(|mut a| a.next().ok_or_else(|| format!("{addr}: no address")))
            .and_then(|sa| {
                TcpStream::connect_timeout(&sa, o.timeout).map_err(|e| format!("{addr}: {e}"))
            });
        match res {
            Ok(s) => return Ok((s, attempt)),
            Err(e) if attempt >= o.retries => return Err(e),
            Err(_) => {
                std::thread::sleep(o.backoff * (attempt + 1));
                attempt += 1;
            }
        }
    }
}

/// Sends one message and waits for its ACK.
pub fn exchange(
    addr: &str,
    message: &str,
    o: &SendOptions,
    limits: &Limits,
) -> (String, u32, u64, Option<String>, usize) {
    let start = Instant::now();
    let (mut stream, retries) = match connect(addr, o) {
        Ok(x) => x,
        Err(e) => {
            return (
                String::new(),
                o.retries,
                0,
                Some(format!("could not connect: {e}")),
                0,
            );
        }
    };
    let _ = stream.set_read_timeout(Some(o.timeout));
    let _ = stream.set_write_timeout(Some(o.timeout));
    if let Err(e) = write_frame(&mut stream, message.as_bytes()) {
        return (
            String::new(),
            retries,
            0,
            Some(format!("could not send: {e}")),
            0,
        );
    }
    let mut reader = BufReader::new(stream);
    let lim = Limits {
        read_timeout: o.timeout,
        ..*limits
    };
    let result = read_frame(&mut reader, &lim);
    let latency = start.elapsed().as_micros() as u64;
    match result {
        Ok(Some(f)) => (as_text(&f.payload), retries, latency, None, f.garbage),
        Ok(None) => (
            String::new(),
            retries,
            latency,
            Some("the receiver closed the connection without an ACK".into()),
            0,
        ),
        Err(e) => (
            String::new(),
            retries,
            latency,
            Some(format!("no ACK: {e}")),
            0,
        ),
    }
}

/// Replays every scenario of a workspace to a receiver's MLLP endpoint.
pub fn send(
    ws: &Workspace,
    addr: &str,
    o: &SendOptions,
    limits: &Limits,
    only: &[String],
) -> Vec<Exchange> {
    let mut out = Vec::new();
    for s in &ws.scenarios {
        if !only.is_empty() && !only.contains(&s.id) {
            continue;
        }
        let r = replay::replay_scenario(ws, s);
        let text = if o.mapped && !r.replay.mapped_text.is_empty() {
            r.replay.mapped_text.clone()
        } else {
            r.replay
                .source_text
                .replace("\r\n", "\r")
                .replace('\n', "\r")
        };
        let (ack, retries, latency_us, error, garbage_bytes) = exchange(addr, &text, o, limits);
        let ack_code = ack_code_of(&ack);
        let predicted = r.replay.ack_code.clone();
        out.push(Exchange {
            leg: "send".into(),
            peer: addr.to_string(),
            label: s.id.clone(),
            message: text,
            mismatch: error.is_none() && !ack_code.is_empty() && !agrees(&ack_code, &predicted),
            ack,
            ack_code,
            predicted,
            latency_us,
            retries,
            error,
            garbage_bytes,
            ended_at: now_utc(),
        });
    }
    out
}

/// AA/CA agree with AA; AE/CE with AE; AR/CR with AR.
pub fn agrees(received: &str, predicted: &str) -> bool {
    let norm = |c: &str| c.chars().nth(1).unwrap_or(' ');
    norm(received) == norm(predicted)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// The application ACK (AA/AE/AR) with its ERR segments.
    Original,
    /// A commit ACK (CA/CE/CR).
    Enhanced,
}

#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub ack_mode: AckMode,
    pub limits: Limits,
    /// Stop after this many messages.
    pub max_messages: Option<usize>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Relay: forward the mapped (or source) message here and pass its ACK back.
    pub forward: Option<(String, SendOptions)>,
    /// Stand in for the receiving system: check against the receiver's
    /// profile only (the message is already mapped), no mapping.
    pub receiver_only: bool,
    /// At most this many connections served at once; more are refused
    /// (closed at once) and recorded.
    pub max_connections: usize,
}

/// How many connections a listener serves at once unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// How many exchanges the in-memory transcript keeps (the newest): the
/// session or `--transcript` file has every one.
pub const TRANSCRIPT_WINDOW: usize = 1000;

/// How much of a message or ACK the in-memory transcript keeps.
pub const WINDOW_TEXT_BYTES: usize = 64 * 1024;

/// Totals over every exchange, kept whatever the window holds.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub exchanges: usize,
    pub errors: usize,
    pub mismatches: usize,
    pub refused: usize,
    /// Latencies of exchanges without error, microseconds.
    pub latencies_us: Vec<u64>,
}

impl Totals {
    /// Counts one exchange.
    pub fn add(&mut self, e: &Exchange) {
        self.exchanges += 1;
        self.errors += usize::from(e.error.is_some());
        self.mismatches += usize::from(e.mismatch);
        if e.error.is_none() && e.latency_us > 0 {
            self.latencies_us.push(e.latency_us);
        }
    }
}

impl Exchange {
    /// An exchange that failed before any message: what went wrong, with whom.
    pub fn failed(leg: &str, peer: String, error: String) -> Exchange {
        Exchange {
            leg: leg.into(),
            peer,
            label: String::new(),
            message: String::new(),
            ack: String::new(),
            ack_code: String::new(),
            predicted: String::new(),
            mismatch: false,
            latency_us: 0,
            retries: 0,
            error: Some(error),
            garbage_bytes: 0,
            ended_at: now_utc(),
        }
    }
}

/// Live counters a window can show while listening.
#[derive(Default)]
pub struct Live {
    pub connections: AtomicUsize,
    pub messages: AtomicUsize,
    pub errors: AtomicUsize,
    pub stop: AtomicBool,
    /// The newest exchanges (at most [`TRANSCRIPT_WINDOW`], texts cut to
    /// [`WINDOW_TEXT_BYTES`]): what a window shows.
    pub transcript: Mutex<Vec<Exchange>>,
    /// Totals over every exchange since the start.
    pub totals: Mutex<Totals>,
    /// When set, every exchange is also appended to this session (workspace root, name).
    pub capture: Option<(std::path::PathBuf, String)>,
    /// When set, every exchange is written here as one JSON line, as it happens.
    pub stream: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("connections", &self.connections)
            .field("messages", &self.messages)
            .field("errors", &self.errors)
            .field("capture", &self.capture)
            .finish_non_exhaustive()
    }
}

fn cut(text: &mut String) {
    if text.len() > WINDOW_TEXT_BYTES {
        let mut at = WINDOW_TEXT_BYTES;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let total = text.len();
        text.truncate(at);
        text.push_str(&format!(
            "… ({total} bytes; the session or --transcript file has all)"
        ));
    }
}

fn commit_ack(source: &str, code: &str) -> String {
    let ctrl = hl7::parse_one(source)
        .ok()
        .map(|m| m.control_id().to_string())
        .unwrap_or_default();
    format!("MSH|^~\\&|||||||ACK|ACK{ctrl}|P|2.5.1\rMSA|{code}|{ctrl}\r")
}

fn handle(ws: &Workspace, stream: TcpStream, peer: SocketAddr, o: &ListenOptions, live: &Live) {
    live.connections.fetch_add(1, Ordering::Relaxed);
    let _ = stream.set_read_timeout(Some(o.limits.read_timeout));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        if live.stop.load(Ordering::Relaxed) {
            break;
        }
        let frame = read_frame(&mut reader, &o.limits);
        let start = Instant::now();
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let fatal = !matches!(e, FrameError::Timeout(_));
                if fatal {
                    live.errors.fetch_add(1, Ordering::Relaxed);
                    record(
                        live,
                        Exchange::failed("listen", peer.to_string(), e.to_string()),
                    );
                    if let FrameError::TooLarge { .. } = e {
                        let _ = write_frame(&mut writer, commit_ack("", "AR").as_bytes());
                    }
                }
                break; // idle timeout, closed mid-frame or too large: drop the connection
            }
        };
        let text = as_text(&frame.payload);
        let parsed = hl7::parse_one(&text);
        let handoff = match &parsed {
            Ok(m) => ws
                .handoff_for_type(&m.message_type())
                .or(ws.handoffs.first()),
            Err(_) => ws.handoffs.first(),
        };
        let Some(handoff) = handoff else { break };
        let r = if o.receiver_only {
            let mut stand_in = handoff.clone();
            stand_in.sender = stand_in.receiver.clone();
            stand_in.rules = crate::mapping::Rules {
                mode: crate::mapping::Mode::Passthrough,
                description: String::new(),
                rules: Vec::new(),
            };
            replay::replay_text(&stand_in, &ws.tables, &text)
        } else {
            replay::replay_text(handoff, &ws.tables, &text)
        };
        let label = parsed
            .as_ref()
            .map(|m| m.control_id().to_string())
            .unwrap_or_default();
        let (ack, leg_error, forwarded) = match &o.forward {
            Some((to, so)) => {
                let out = if r.mapped_text.is_empty() {
                    text.clone()
                } else {
                    r.mapped_text.clone()
                };
                let (ack, retries, latency_us, error, garbage_bytes) =
                    exchange(to, &out, so, &o.limits);
                let ack_code = ack_code_of(&ack);
                record(
                    live,
                    Exchange {
                        leg: "relay-out".into(),
                        peer: to.clone(),
                        label: label.clone(),
                        message: out,
                        mismatch: error.is_none()
                            && !ack_code.is_empty()
                            && !agrees(&ack_code, &r.ack_code),
                        ack: ack.clone(),
                        ack_code,
                        predicted: r.ack_code.clone(),
                        latency_us,
                        retries,
                        error: error.clone(),
                        garbage_bytes,
                        ended_at: String::new(),
                    },
                );
                // The receiver's ACK goes back; without one, the sender hears AE.
                let back = if ack.is_empty() {
                    commit_ack(&text, "AE")
                } else {
                    ack
                };
                (back, error, true)
            }
            None => {
                let ack = match o.ack_mode {
                    AckMode::Original => r.ack.clone(),
                    AckMode::Enhanced => commit_ack(
                        &text,
                        if r.ack_code == "AR" && parsed.is_err() {
                            "CR"
                        } else {
                            "CA"
                        },
                    ),
                };
                (ack, None, false)
            }
        };
        let write_err = write_frame(&mut writer, ack.as_bytes()).err();
        live.messages.fetch_add(1, Ordering::Relaxed);
        if write_err.is_some() || leg_error.is_some() {
            live.errors.fetch_add(1, Ordering::Relaxed);
        }
        record(
            live,
            Exchange {
                leg: if forwarded {
                    "relay-in".into()
                } else {
                    "listen".into()
                },
                peer: peer.to_string(),
                label,
                message: text,
                ack_code: ack_code_of(&ack),
                ack,
                predicted: r.ack_code.clone(),
                mismatch: false,
                latency_us: start.elapsed().as_micros() as u64,
                retries: 0,
                error: write_err.map(|e| format!("could not send the ACK: {e}")),
                garbage_bytes: frame.garbage,
                ended_at: String::new(),
            },
        );
        if o.max_messages
            .is_some_and(|m| live.messages.load(Ordering::Relaxed) >= m)
        {
            live.stop.store(true, Ordering::Relaxed);
            break;
        }
    }
}

/// Records an exchange: to the session and the stream as it happens, in
/// the totals, and in the bounded window.
fn record(live: &Live, mut e: Exchange) {
    if e.ended_at.is_empty() {
        e.ended_at = now_utc();
    }
    if let Some((root, name)) = &live.capture
        && crate::session::append(root, name, crate::session::Event::Exchange(e.clone())).is_err()
    {
        live.errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(stream) = &live.stream
        && let Ok(mut w) = stream.lock()
    {
        let line = serde_json::to_string(&e).unwrap_or_default();
        if writeln!(w, "{line}").and_then(|_| w.flush()).is_err() {
            live.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Ok(mut t) = live.totals.lock() {
        t.add(&e);
    }
    cut(&mut e.message);
    cut(&mut e.ack);
    if let Ok(mut t) = live.transcript.lock() {
        if t.len() >= TRANSCRIPT_WINDOW {
            // Drop the oldest half at once: amortised, never a shift per exchange.
            t.drain(..TRANSCRIPT_WINDOW / 2);
        }
        t.push(e);
    }
}

/// Latency percentiles over every exchange so far: (p50, p95, max), µs.
pub fn totals_latency(t: &Totals) -> Option<(u64, u64, u64)> {
    let mut v = t.latencies_us.clone();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Some((at(0.5), at(0.95), v[v.len() - 1]))
}

/// Listens until stopped (by `live.stop`, the message count or the
/// duration); each connection is served on its own thread.
pub fn listen(
    ws: Arc<Workspace>,
    listener: TcpListener,
    o: ListenOptions,
    live: Arc<Live>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let started = Instant::now();
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    loop {
        if live.stop.load(Ordering::Relaxed) || o.duration.is_some_and(|d| started.elapsed() >= d) {
            live.stop.store(true, Ordering::Relaxed);
            break;
        }
        match listener.accept() {
            Ok((stream, peer)) => {
                threads.retain(|t| !t.is_finished());
                if threads.len() >= o.max_connections.max(1) {
                    // Refused: closed at once, and recorded.
                    drop(stream);
                    live.errors.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut t) = live.totals.lock() {
                        t.refused += 1;
                    }
                    record(
                        &live,
                        Exchange::failed(
                            "listen",
                            peer.to_string(),
                            format!(
                                "connection refused: {} already open (at most {})",
                                threads.len(),
                                o.max_connections
                            ),
                        ),
                    );
                    continue;
                }
                let _ = stream.set_nonblocking(false);
                let (ws, o, live) = (ws.clone(), o.clone(), live.clone());
                threads.push(std::thread::spawn(move || {
                    handle(&ws, stream, peer, &o, &live)
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => return Err(e),
        }
        threads.retain(|t| !t.is_finished());
    }
    // Give open connections a moment to finish their last exchange.
    let deadline = Instant::now() + Duration::from_secs(2);
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Latency percentiles of a transcript, in microseconds: (p50, p95, max).
pub fn latency_summary(t: &[Exchange]) -> Option<(u64, u64, u64)> {
    let mut v: Vec<u64> = t
        .iter()
        .filter(|e| e.error.is_none() && e.latency_us > 0)
        .map(|e| e.latency_us)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Some((at(0.5), at(0.95), v[v.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits {
            max_bytes: 64,
            read_timeout: Duration::from_millis(100),
        }
    }

    #[test]
    fn frames_round_trip_and_skip_garbage() {
        let mut buf = b"junk\n".to_vec();
        write_frame(&mut buf, b"MSH|^~\\&|A").unwrap();
        write_frame(&mut buf, b"MSH|^~\\&|B").unwrap();
        let mut r = &buf[..];
        let f = read_frame(&mut r, &lim()).unwrap().unwrap();
        assert_eq!((f.payload.as_slice(), f.garbage), (&b"MSH|^~\\&|A"[..], 5));
        let f = read_frame(&mut r, &lim()).unwrap().unwrap();
        assert_eq!(f.payload, b"MSH|^~\\&|B");
        assert!(read_frame(&mut r, &lim()).unwrap().is_none());
    }

    #[test]
    fn truncated_and_oversized_frames_are_errors() {
        let mut r = &b"\x0bMSH|^~\\&|no end"[..];
        assert!(matches!(
            read_frame(&mut r, &lim()),
            Err(FrameError::Truncated)
        ));
        let big = [vec![START], vec![b'x'; 200], END.to_vec()].concat();
        let mut r = &big[..];
        assert!(matches!(
            read_frame(&mut r, &lim()),
            Err(FrameError::TooLarge { limit: 64 })
        ));
    }

    #[test]
    fn ack_codes_agree_across_modes() {
        assert!(agrees("CA", "AA") && agrees("AE", "AE") && !agrees("AA", "AE"));
        assert_eq!(ack_code_of("MSH|^~\\&|A\rMSA|AE|1\r"), "AE");
    }
}
