//! Standard output written on a thread of its own: a command producing
//! hundreds of megabytes (`inspect --json`) keeps computing while the pipe
//! drains, instead of waiting on each write.

use std::io::Write;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes gathered before they are handed to the writing thread.
const CHUNK: usize = 1 << 20;

pub struct Background {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Background {
    /// Standard output, written by a background thread (at most 4 chunks queued).
    pub fn stdout() -> Background {
        let (tx, rx) = sync_channel::<Vec<u8>>(4);
        let thread = std::thread::spawn(move || {
            let mut out = raw_stdout();
            for chunk in rx {
                out.write_all(&chunk)?;
            }
            out.flush()
        });
        Background {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        match &self.tx {
            Some(tx) if tx.send(chunk).is_ok() => Ok(()),
            // The writer stopped (a closed pipe): its error says why.
            _ => self.join(),
        }
    }

    fn join(&mut self) -> std::io::Result<()> {
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(std::io::Error::other("the output thread stopped")),
            None => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        }
    }

    /// Writes what is left and waits for the thread: errors surface here.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.send()?;
        self.join()
    }
}

/// Standard output written a chunk at a time as it is: on Unix its file
/// descriptor directly (the standard handle is line-buffered, and would
/// search every megabyte written for its last line end); elsewhere the handle.
fn raw_stdout() -> Box<dyn Write> {
    // Whatever was printed before goes out first.
    let _ = std::io::stdout().flush();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stdout().lock())
}

impl Write for Background {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    /// Hands what is buffered to the writing thread (`finish` waits for it).
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.send();
        let _ = self.join();
    }
}
