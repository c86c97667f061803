//! A request body, received whole before anything reads it.
//!
//! Network time must never hold the database: a Web Connector (or anyone) sending its body
//! slowly would otherwise keep a staging transaction, a pooled connection and, on SQLite, the
//! write lock for as long as the body lasts. So [`spool`] first takes the whole body off the
//! network, with an idle timeout and a minimum average rate, and only then is it parsed and
//! staged ([`receive`](super::receive)).
//!
//! Memory stays flat: a body up to [`IN_MEMORY_BYTES`] is kept in memory, a longer one goes to an
//! anonymous temporary file (`tempfile::tempfile`: it has no name, so the operating system removes
//! it when it is closed, whatever happens, a crash included). Writes to the file go through
//! tokio's blocking pool 256 KiB at a time; no thread waits on the network.

use std::io::{BufRead, Seek, SeekFrom};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Bodies up to this many bytes stay in memory; longer ones go to a temporary file.
pub const IN_MEMORY_BYTES: usize = 16 * 1024;
/// The spooled file is read back through a buffer this large.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Body chunks are gathered into writes to the file this large (each write is one trip to
/// tokio's blocking pool).
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// How much of a body, and how slowly, is accepted.
#[derive(Clone, Debug)]
pub struct BodyLimits {
    /// Longest body accepted, in bytes.
    pub max_bytes: usize,
    /// The body is refused when nothing of it arrives for this long; it is also the window after
    /// which the minimum rate applies.
    pub idle_timeout: Duration,
    /// Once `idle_timeout` has passed since the body began, it must have arrived at this many
    /// bytes per second on average (since it began), or it is refused. 0: no minimum.
    pub min_bytes_per_second: u64,
    /// The body is refused when it is not complete this long after it began, however steadily it
    /// arrives: a client keeping to the minimum rate must not hold an upload place for hours.
    pub max_duration: Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_bytes: 128 * 1024 * 1024,
            idle_timeout: Duration::from_secs(60),
            min_bytes_per_second: 1024,
            max_duration: Duration::from_secs(15 * 60),
        }
    }
}

/// Why a body was not received.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the request body is larger than the {0}-byte limit")]
    TooLarge(usize),
    #[error("the request body stopped arriving: nothing came for {0} seconds")]
    Idle(u64),
    #[error(
        "the request body arrived too slowly: {received} bytes in {seconds} seconds, below the minimum of {minimum} \
         bytes per second"
    )]
    TooSlow { received: usize, seconds: u64, minimum: u64 },
    #[error("the request body was not complete after {0} seconds")]
    TooLong(u64),
    #[error("the request body broke off: the connection failed before it was complete")]
    Broken,
    #[error("qbsync could not keep the request body in a temporary file: {0}")]
    Io(#[from] std::io::Error),
}

impl SpoolError {
    /// Whether the client is to blame (anything but the temporary file failing).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, SpoolError::Io(_))
    }
}

/// A whole request body.
#[derive(Debug)]
pub enum Spooled {
    Memory(Vec<u8>),
    /// An anonymous temporary file, removed when dropped; `len` bytes written.
    File {
        file: std::fs::File,
        len: usize,
    },
}

impl Spooled {
    /// How many bytes the body holds.
    pub fn len(&self) -> usize {
        match self {
            Spooled::Memory(bytes) => bytes.len(),
            Spooled::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body from its first byte. Blocking (a file seek): call it on a blocking thread.
    pub fn into_reader(self) -> std::io::Result<Box<dyn BufRead + Send>> {
        Ok(match self {
            Spooled::Memory(bytes) => Box::new(std::io::Cursor::new(bytes)),
            Spooled::File { mut file, .. } => {
                file.seek(SeekFrom::Start(0))?;
                Box::new(std::io::BufReader::with_capacity(READ_BUFFER_BYTES, file))
            }
        })
    }
}

/// Receives `body` whole: in memory up to [`IN_MEMORY_BYTES`], in a temporary file beyond.
/// Refuses a body over `limits.max_bytes` as soon as it passes it, one that pauses for
/// `limits.idle_timeout`, and one slower on average than `limits.min_bytes_per_second` once
/// `limits.idle_timeout` has passed. Nothing is kept of a refused body.
pub async fn spool<S, B, E>(mut body: S, limits: &BodyLimits) -> Result<Spooled, SpoolError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let start = Instant::now();
    let mut last_arrival = start;
    let mut memory = Vec::new();
    let mut file: Option<tokio::io::BufWriter<tokio::fs::File>> = None;
    let mut total = 0usize;
    loop {
        let idle_deadline = last_arrival + limits.idle_timeout;
        // The bytes received so far pay for `total / rate` seconds since the start; the first
        // window is free.
        let rate_deadline = (limits.min_bytes_per_second > 0).then(|| {
            let paid = Duration::from_secs_f64(total as f64 / limits.min_bytes_per_second as f64);
            start + paid.max(limits.idle_timeout)
        });
        let whole_deadline = start + limits.max_duration;
        let deadline = rate_deadline.map_or(idle_deadline, |rate| rate.min(idle_deadline)).min(whole_deadline);
        let chunk = match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(_))) => return Err(SpoolError::Broken),
            Err(_) if deadline == whole_deadline => return Err(SpoolError::TooLong(limits.max_duration.as_secs())),
            Err(_) if deadline == idle_deadline => return Err(SpoolError::Idle(limits.idle_timeout.as_secs())),
            Err(_) => {
                return Err(SpoolError::TooSlow {
                    received: total,
                    seconds: start.elapsed().as_secs(),
                    minimum: limits.min_bytes_per_second,
                });
            }
        };
        let chunk = chunk.as_ref();
        last_arrival = Instant::now();
        total += chunk.len();
        if total > limits.max_bytes {
            return Err(SpoolError::TooLarge(limits.max_bytes));
        }
        match file.as_mut() {
            Some(file) => file.write_all(chunk).await?,
            None if total <= IN_MEMORY_BYTES => memory.extend_from_slice(chunk),
            None => {
                let created = tokio::task::spawn_blocking(tempfile::tempfile)
                    .await
                    .map_err(|_| std::io::Error::other("creating the temporary file was cancelled"))??;
                let mut created =
                    tokio::io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, tokio::fs::File::from_std(created));
                created.write_all(&std::mem::take(&mut memory)).await?;
                created.write_all(chunk).await?;
                file = Some(created);
            }
        }
    }
    Ok(match file {
        Some(mut file) => {
            file.flush().await?;
            Spooled::File { file: file.into_inner().into_std().await, len: total }
        }
        None => Spooled::Memory(memory),
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::io::Read;

    use futures_util::stream;

    use super::*;

    fn limits(idle_ms: u64, min_rate: u64) -> BodyLimits {
        BodyLimits {
            max_bytes: 1 << 20,
            idle_timeout: Duration::from_millis(idle_ms),
            min_bytes_per_second: min_rate,
            max_duration: Duration::from_secs(60),
        }
    }

    fn chunks(body: &[u8], size: usize) -> impl Stream<Item = Result<Vec<u8>, Infallible>> + Unpin + use<> {
        stream::iter(body.chunks(size).map(|c| Ok(c.to_vec())).collect::<Vec<_>>())
    }

    fn read_back(spooled: Spooled) -> Vec<u8> {
        let mut out = Vec::new();
        spooled.into_reader().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    /// A stream that yields `first`, then nothing more (a client that paused) until dropped.
    fn paused_after(first: &[u8]) -> impl Stream<Item = Result<Vec<u8>, Infallible>> + Unpin + use<> {
        stream::iter(vec![Ok(first.to_vec())]).chain(stream::pending())
    }

    #[tokio::test]
    async fn a_small_body_stays_in_memory() {
        let body = b"<soap:Envelope/>".repeat(10);

        let spooled = spool(chunks(&body, 7), &limits(5_000, 1024)).await.unwrap();

        assert!(matches!(spooled, Spooled::Memory(_)), "{spooled:?}");
        assert_eq!(read_back(spooled), body);
    }

    #[tokio::test]
    async fn a_large_body_goes_to_a_file_and_reads_back_byte_for_byte() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();

        let spooled = spool(chunks(&body, 4093), &limits(5_000, 1024)).await.unwrap();

        assert!(matches!(spooled, Spooled::File { len: 300_000, .. }), "{spooled:?}");
        assert_eq!(read_back(spooled), body);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let body = vec![b'x'; 100_000];
        let limits = BodyLimits { max_bytes: 99_999, ..limits(5_000, 0) };

        let err = spool(chunks(&body, 1000), &limits).await.unwrap_err();

        assert!(matches!(err, SpoolError::TooLarge(99_999)), "{err:?}");
    }

    #[tokio::test]
    async fn a_body_that_pauses_longer_than_the_idle_timeout_is_refused() {
        let started = std::time::Instant::now();

        let err = spool(paused_after(&[b'x'; 100_000]), &limits(300, 1)).await.unwrap_err();

        assert!(matches!(err, SpoolError::Idle(_)), "{err:?}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(err.is_client_error());
    }

    #[tokio::test]
    async fn a_body_that_trickles_below_the_minimum_rate_after_the_first_window_is_refused() {
        // A byte every 50 ms never pauses for the 400 ms idle timeout, but averages 20 bytes a
        // second, below the 1000 required once the first 400 ms have passed.
        let trickle = stream::unfold(0u32, |sent| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok::<_, Infallible>(vec![b'x']), sent + 1))
        });
        let started = std::time::Instant::now();

        let err = spool(Box::pin(trickle), &limits(400, 1000)).await.unwrap_err();

        assert!(matches!(err, SpoolError::TooSlow { minimum: 1000, .. }), "{err:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(400) && waited < Duration::from_secs(3), "{waited:?}");
    }

    #[tokio::test]
    async fn a_body_arriving_steadily_but_for_longer_than_the_whole_limit_is_refused() {
        // 100 bytes every 20 ms: 5,000 bytes a second, well above the minimum and never idle,
        // but still arriving when the body's 500 ms are up.
        let steady = stream::unfold(0u32, |sent| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok::<_, Infallible>(vec![b'x'; 100]), sent + 1))
        });
        let limits = BodyLimits { max_duration: Duration::from_millis(500), ..limits(400, 1000) };
        let started = std::time::Instant::now();

        let err = spool(Box::pin(steady), &limits).await.unwrap_err();

        assert!(matches!(err, SpoolError::TooLong(_)), "{err:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(500) && waited < Duration::from_secs(3), "{waited:?}");
        assert!(err.is_client_error());
    }

    #[tokio::test]
    async fn a_broken_body_is_refused() {
        let body = stream::iter(vec![Ok(b"<soap:".to_vec()), Err("connection reset")]);

        let err = spool(body, &limits(5_000, 1024)).await.unwrap_err();

        assert!(matches!(err, SpoolError::Broken), "{err:?}");
    }
}
