//! Reads a message log as a stream: one message after another with CR, LF or
//! CRLF segment ends, MLLP-framed dumps (0x0B … 0x1C), FHS/BHS batches, and
//! blank lines or other text between messages. Memory stays bounded by the
//! largest message (itself capped), whatever the log's size.

use std::io::{BufRead, ErrorKind};

/// The largest message a log may hold; a bigger one is skipped with a problem.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// One message's text cut from a log, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMessage {
    /// 1-based, counted across every log of a run.
    pub number: usize,
    /// Index of the log file in the run's list.
    pub file: usize,
    /// 1-based line of the message's MSH in its file.
    pub line: usize,
    /// Byte offset of the MSH in its file.
    pub offset: u64,
    /// The message, segments ended by `\r`.
    pub text: String,
    /// Set when the bytes were not UTF-8 and were read as Latin-1.
    pub latin1: bool,
    /// Why the message's text is not here (too large to read): it counts as
    /// an unreadable message.
    pub skipped: Option<String>,
}

/// Something in a log that is not a message: located, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogProblem {
    pub file: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What the reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogItem {
    Message(LogMessage),
    Problem(LogProblem),
}

/// Cuts a byte stream into messages.
pub struct LogReader<R> {
    reader: R,
    file: usize,
    /// Messages yielded so far across files (shared numbering).
    next_number: usize,
    line: usize,
    offset: u64,
    /// Bytes of the message being gathered.
    current: Vec<u8>,
    current_line: usize,
    current_offset: u64,
    /// Lines that are not segments, held until it is known whether they sit
    /// inside a message (a segment follows) or between messages.
    pending: Vec<u8>,
    pending_lines: usize,
    pending_line: usize,
    /// The current message grew past the cap: the rest of it is skipped.
    oversized: bool,
    /// Text outside any message since the last message: (first line, lines, bytes).
    junk: Option<(usize, usize, usize)>,
    out: std::collections::VecDeque<LogItem>,
    done: bool,
    line_buf: Vec<u8>,
    max_message: usize,
    /// The next MLLP start byte (0x0b) at or after `offset`: where the
    /// last search of the reading buffer ended and the first one it found
    /// (none before it). One search per buffer, or per start byte, instead
    /// of one per line.
    start_byte: (u64, Option<u64>),
}

impl<R: BufRead> LogReader<R> {
    /// `file` is the log's index; `first_number` the number the first
    /// message gets (1 for the first log of a run).
    pub fn new(reader: R, file: usize, first_number: usize) -> LogReader<R> {
        LogReader {
            reader,
            file,
            next_number: first_number,
            line: 1,
            offset: 0,
            current: Vec::new(),
            current_line: 0,
            current_offset: 0,
            pending: Vec::new(),
            pending_lines: 0,
            pending_line: 0,
            oversized: false,
            junk: None,
            out: Default::default(),
            done: false,
            line_buf: Vec::new(),
            start_byte: (0, None),
            max_message: MAX_MESSAGE_BYTES,
        }
    }

    /// A smaller cap, for tests.
    pub fn with_max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// The number the next message will get.
    pub fn next_number(&self) -> usize {
        self.next_number
    }

    fn problem(&mut self, line: usize, column: usize, message: String) {
        self.out.push_back(LogItem::Problem(LogProblem {
            file: self.file,
            line,
            column,
            message,
        }));
    }

    fn flush_junk(&mut self) {
        if let Some((line, lines, bytes)) = self.junk.take() {
            let what = if lines == 1 {
                "1 line".to_string()
            } else {
                format!("{lines} lines")
            };
            self.problem(
                line,
                1,
                format!("{what} ({bytes} bytes) of text outside any message skipped"),
            );
        }
    }

    fn add_junk(&mut self, line: usize, bytes: usize) {
        match self.junk.as_mut() {
            Some((_, lines, b)) => {
                *lines += 1;
                *b += bytes;
            }
            None => self.junk = Some((line, 1, bytes)),
        }
    }

    /// Ends the message being gathered, if any.
    fn end_message(&mut self) {
        if !self.pending.is_empty() {
            // Non-segment lines with no segment after them: between messages.
            let (line, lines, bytes) = (self.pending_line, self.pending_lines, self.pending.len());
            self.pending.clear();
            self.pending_lines = 0;
            if !self.current.is_empty() || self.oversized {
                self.emit_current();
            }
            for _ in 0..lines {
                self.add_junk(line, 0);
            }
            if let Some(j) = self.junk.as_mut() {
                j.2 += bytes;
            }
            return;
        }
        if !self.current.is_empty() || self.oversized {
            self.emit_current();
        }
    }

    fn emit_current(&mut self) {
        let number = self.next_number;
        self.next_number += 1;
        if self.oversized {
            self.oversized = false;
            self.current.clear();
            let line = self.current_line;
            let why = format!(
                "message {number} is larger than {} MiB; skipped",
                self.max_message / (1024 * 1024)
            );
            self.problem(line, 1, why.clone());
            self.out.push_back(LogItem::Message(LogMessage {
                number,
                file: self.file,
                line,
                offset: self.current_offset,
                text: String::new(),
                latin1: false,
                skipped: Some(why),
            }));
            return;
        }
        // The next message starts with room for one as long as this one
        // (up to 16 KiB: a message's text keeps no more than that unused).
        let room = self.current.len().min(16 * 1024);
        let bytes = std::mem::replace(&mut self.current, Vec::with_capacity(room));
        let (text, latin1) = match String::from_utf8(bytes) {
            Ok(s) => (s, false),
            Err(e) => (e.into_bytes().iter().map(|&b| b as char).collect(), true),
        };
        self.out.push_back(LogItem::Message(LogMessage {
            number,
            file: self.file,
            line: self.current_line,
            offset: self.current_offset,
            text,
            latin1,
            skipped: None,
        }));
    }

    fn append(&mut self, content: &[u8]) {
        if self.oversized {
            return;
        }
        if self.current.len() + content.len() + 1 > self.max_message {
            self.oversized = true;
            self.current = Vec::new();
            return;
        }
        self.current.extend_from_slice(content);
        self.current.push(b'\r');
    }

    /// Reads one line (ended by CR, LF, CRLF, 0x0B or 0x1C) into `line_buf`,
    /// keeping at most the cap's bytes. Returns the terminator byte (0 at
    /// the end of input), whether the line was cut, and its length.
    fn read_line(&mut self) -> std::io::Result<Option<(u8, bool, usize)>> {
        self.line_buf.clear();
        let mut total = 0usize;
        let mut cut = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(if total == 0 {
                    None
                } else {
                    Some((0, cut, total))
                });
            }
            // The first line end or framing byte: three searched together,
            // the fourth (MLLP's start byte) found once per buffer.
            let stop = {
                let end = memchr::memchr3(b'\r', b'\n', 0x1c, buf);
                let at = self.offset;
                let start = match self.start_byte {
                    (_, Some(found)) if found >= at => Some(found),
                    (searched, None) if searched >= at + buf.len() as u64 => None,
                    _ => {
                        let found = memchr::memchr(0x0b, buf).map(|i| at + i as u64);
                        self.start_byte = (at + buf.len() as u64, found);
                        found
                    }
                };
                let start = start.map(|s| (s - at) as usize);
                match (start, end) {
                    (Some(s), Some(e)) if s < e => Some(s),
                    (Some(s), None) => Some(s),
                    _ => end,
                }
            };
            let take = stop.unwrap_or(buf.len());
            let room = self.max_message.saturating_sub(self.line_buf.len());
            if take > room {
                cut = true;
            }
            self.line_buf.extend_from_slice(&buf[..take.min(room)]);
            total += take;
            match stop {
                Some(i) => {
                    let term = buf[i];
                    self.reader.consume(i + 1);
                    self.offset += (i + 1) as u64;
                    if term == b'\r' {
                        // CRLF is one line end.
                        let next = loop {
                            match self.reader.fill_buf() {
                                Ok(b) => break b.first().copied(),
                                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                                Err(e) => return Err(e),
                            }
                        };
                        if next == Some(b'\n') {
                            self.reader.consume(1);
                            self.offset += 1;
                        }
                    }
                    return Ok(Some((term, cut, total)));
                }
                None => {
                    let n = buf.len();
                    self.reader.consume(n);
                    self.offset += n as u64;
                }
            }
        }
    }

    fn step(&mut self) -> std::io::Result<()> {
        let start_offset = self.offset;
        let Some((term, cut, length)) = self.read_line()? else {
            self.end_message();
            self.flush_junk();
            self.done = true;
            return Ok(());
        };
        let line = self.line;
        if matches!(term, b'\r' | b'\n' | 0) {
            self.line += 1;
        }
        let mut content = std::mem::take(&mut self.line_buf);
        if line == 1 && content.starts_with(&[0xef, 0xbb, 0xbf]) {
            content.drain(..3);
        }
        let framing = matches!(term, 0x0b | 0x1c);
        self.line_step(&content, cut, length, line, start_offset);
        self.line_buf = content;
        if framing {
            // MLLP framing bytes end a message.
            self.end_message();
        }
        Ok(())
    }

    fn line_step(&mut self, content: &[u8], cut: bool, length: usize, line: usize, at: u64) {
        let blank = content.iter().all(|b| b.is_ascii_whitespace());
        if blank {
            if length > 0 || !self.current.is_empty() {
                self.end_message();
            }
            return;
        }
        let name = content.get(..3).unwrap_or(content);
        let is_segment = name.len() == 3
            && name[0].is_ascii_uppercase()
            && name
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && content.get(3).is_none_or(|b| !b.is_ascii_alphanumeric());
        if name == b"MSH" && is_segment {
            self.end_message();
            self.flush_junk();
            self.current_line = line;
            self.current_offset = at;
            if cut {
                self.oversized = true;
            } else {
                self.append(content);
            }
            return;
        }
        if is_segment && matches!(name, b"FHS" | b"BHS" | b"BTS" | b"FTS") {
            // Batch envelope: it ends a message and is not one.
            self.end_message();
            self.flush_junk();
            return;
        }
        let in_message = !self.current.is_empty() || self.oversized;
        if !in_message || (cut && !is_segment) {
            // A line too long to be anything but junk ends the message.
            if in_message {
                self.end_message();
            }
            self.add_junk(line, length);
            return;
        }
        if cut {
            self.oversized = true;
            return;
        }
        if is_segment {
            // Non-segment lines followed by a segment belong to the message:
            // its parse will report them where they are.
            if !self.pending.is_empty() {
                let pending = std::mem::take(&mut self.pending);
                self.pending_lines = 0;
                for l in pending.split(|&b| b == b'\r') {
                    if !l.is_empty() {
                        self.append(l);
                    }
                }
            }
            self.append(content);
        } else {
            if self.pending.is_empty() {
                self.pending_line = line;
            }
            self.pending_lines += 1;
            if self.pending.len() + content.len() + 1 > self.max_message {
                self.oversized = true;
                self.pending.clear();
                self.pending_lines = 0;
                return;
            }
            self.pending.extend_from_slice(content);
            self.pending.push(b'\r');
        }
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = std::io::Result<LogItem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.step() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> (Vec<LogMessage>, Vec<LogProblem>) {
        let mut m = Vec::new();
        let mut p = Vec::new();
        for item in LogReader::new(bytes, 0, 1) {
            match item.unwrap() {
                LogItem::Message(x) => m.push(x),
                LogItem::Problem(x) => p.push(x),
            }
        }
        (m, p)
    }

    const A: &str = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1";
    const B: &str = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|2|P|2.5.1";

    #[test]
    fn every_form_of_log_gives_the_same_messages() {
        let forms = [
            format!("{A}\rPID|1\r{B}\rPID|2\r"),
            format!("{A}\nPID|1\n{B}\nPID|2\n"),
            format!("{A}\r\nPID|1\r\n\r\n{B}\r\nPID|2\r\n"),
            format!("\x0b{A}\rPID|1\r\x1c\r\x0b{B}\rPID|2\r\x1c\r"),
            format!("\x0b{A}\rPID|1\x1c\x0b{B}\rPID|2\x1c"),
            format!("FHS|^~\\&\rBHS|^~\\&\r{A}\rPID|1\r{B}\rPID|2\rBTS|2\rFTS|1\r"),
            format!("\u{feff}{A}\rPID|1\r\r\r{B}\rPID|2"),
        ];
        for f in forms {
            let (m, p) = read(f.as_bytes());
            assert!(p.is_empty(), "{f:?}: {p:?}");
            assert_eq!(m.len(), 2, "{f:?}");
            assert_eq!(m[0].text, format!("{A}\rPID|1\r"), "{f:?}");
            assert_eq!(m[1].text, format!("{B}\rPID|2\r"), "{f:?}");
            assert_eq!((m[0].number, m[1].number), (1, 2));
        }
    }

    #[test]
    fn buffer_boundaries_change_nothing_and_offsets_point_at_each_message() {
        let long = "X".repeat(300);
        let forms = [
            format!("{A}\rPID|1|{long}\r{B}\rPID|2\r"),
            format!("junk\r\n{A}\r\nPID|1|{long}\r\n\r\n{B}\r\nPID|2\r\n"),
            format!("\x0b{A}\rPID|1|{long}\r\x1c\r\x0b{B}\rPID|2\r\x1c\r"),
            format!("\x0b{A}\rPID|1\x1c\x0b{B}\rPID|2|{long}\x1c\x0b{A}\x1c"),
            format!("{A}\rPID|1|a\x0bb\r{B}\rPID|2\r"),
        ];
        for f in forms {
            let whole = read(f.as_bytes());
            for size in (1..=19).chain([64, 4096]) {
                let mut m = Vec::new();
                let mut p = Vec::new();
                let r = std::io::BufReader::with_capacity(size, f.as_bytes());
                for item in LogReader::new(r, 0, 1) {
                    match item.unwrap() {
                        LogItem::Message(x) => m.push(x),
                        LogItem::Problem(x) => p.push(x),
                    }
                }
                let seen = |m: &[LogMessage]| -> Vec<(String, usize, u64)> {
                    m.iter()
                        .map(|x| (x.text.clone(), x.line, x.offset))
                        .collect()
                };
                assert_eq!(
                    seen(&m),
                    seen(&whole.0),
                    "{f:?} read {size} bytes at a time"
                );
                assert_eq!(p.len(), whole.1.len(), "{f:?} read {size} bytes at a time");
            }
            for x in &whole.0 {
                let at = x.offset as usize;
                assert!(f[at..].starts_with("MSH"), "{f:?}: offset {at}");
            }
        }
    }

    #[test]
    fn text_between_messages_is_a_located_problem_and_lines_are_counted() {
        let log =
            format!("junk one\njunk two\n{A}\nPID|1\n2024-01-01 12:00 received\n{B}\nPID|2\n");
        let (m, p) = read(log.as_bytes());
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].line, m[1].line), (3, 6));
        assert_eq!(m[0].text, format!("{A}\rPID|1\r"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].line, 1);
        assert!(p[0].message.contains("2 lines"), "{}", p[0].message);
        assert_eq!(p[1].line, 5);
    }

    #[test]
    fn a_non_segment_line_inside_a_message_stays_in_it() {
        let log = format!("{A}\nPID|1\nnot a segment\nOBX|1\n");
        let (m, p) = read(log.as_bytes());
        assert!(p.is_empty());
        assert_eq!(m[0].text, format!("{A}\rPID|1\rnot a segment\rOBX|1\r"));
    }

    #[test]
    fn an_oversized_message_or_line_is_skipped_with_its_line() {
        let big = "X".repeat(5000);
        let log = format!("{A}\nOBX|1|{big}\n{B}\nPID|2\n{big}\n");
        let reader = LogReader::new(log.as_bytes(), 0, 1).with_max_message(1024);
        let items: Vec<_> = reader.map(|i| i.unwrap()).collect();
        let msgs: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                LogItem::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        let problems: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                LogItem::Problem(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].skipped.is_some() && msgs[0].text.is_empty());
        assert_eq!((msgs[1].number, msgs[1].skipped.as_deref()), (2, None));
        assert_eq!(problems[0].line, 1);
        assert!(problems[0].message.contains("message 1 is larger"));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn binary_junk_and_a_truncated_frame_are_read_without_loss_of_the_rest() {
        let mut log = vec![0u8, 1, 2, 0xff, 0xfe, b'\n'];
        log.extend_from_slice(format!("\x0b{A}\rPID|1").as_bytes());
        log.extend_from_slice(format!("\x0b{B}\rPID|2\x1c\r").as_bytes());
        let (m, p) = read(&log);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].text, format!("{A}\rPID|1\r"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 1);
    }
}
