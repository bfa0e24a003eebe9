//! Positioned reads from a file or a byte slice, so that readers can skip image data without reading it.

use std::fs::File;
use std::io;

/// Something that can be read at any offset.
pub trait Source: Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// True for an empty source.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fill `buf` from `offset`; returns how many bytes were read (less than `buf.len()` only at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// The first bytes of the source when they are already in memory (a byte slice, or a file's prefetched
    /// head), so that readers can look at them without a copy. Empty when nothing is in memory.
    fn head(&self) -> &[u8] {
        &[]
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
    fn head(&self) -> &[u8] {
        self
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
    fn head(&self) -> &[u8] {
        self
    }
}

/// A file opened for positioned reads, with its length taken once and optionally its first bytes read ahead
/// (one read serves format detection and the first metadata).
pub struct FileSource {
    file: File,
    len: u64,
    head: Vec<u8>,
}

impl FileSource {
    /// Wrap an open file.
    pub fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileSource {
            file,
            len,
            head: Vec::new(),
        })
    }

    /// Wrap a file just opened (its position is its start) and read its first `head` bytes (fewer for a smaller
    /// file) at once.
    pub fn with_head(file: File, head: usize) -> io::Result<Self> {
        use std::io::Read;
        let mut source = FileSource::new(file)?;
        let want = head.min(usize::try_from(source.len).unwrap_or(usize::MAX));
        // Read into the vector's spare capacity (nothing is zeroed first); the file was just opened, so its
        // position is its start.
        let mut buf = Vec::with_capacity(want);
        (&source.file).take(want as u64).read_to_end(&mut buf)?;
        source.head = buf;
        Ok(source)
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn head(&self) -> &[u8] {
        &self.head
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        // Served from the head when it holds the whole range (or everything up to the end of the file).
        let head_len = self.head.len() as u64;
        let end = offset.saturating_add(buf.len() as u64);
        if offset <= head_len && (end <= head_len || head_len == self.len) {
            return self.head.as_slice().read_at(offset, buf);
        }
        let mut done = 0;
        while done < buf.len() {
            let n = read_at_once(&self.file, offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
}

#[cfg(unix)]
fn read_at_once(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at_once(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// A cached window over a [`Source`]: metadata readers ask for byte ranges; the window reads each range once,
/// and reads ahead only a little after a skip so that skipped image data is not read. Ranges inside the bytes the
/// source already holds in memory ([`Source::head`]) are returned without a read or a copy.
pub struct Window<'a> {
    source: &'a dyn Source,
    head: &'a [u8],
    start: u64,
    buf: Vec<u8>,
}

/// How much is read at least when the window has to move; reads then run on to the end of a page.
const READ_AHEAD: usize = 512;
/// The page size reads are aligned to (a read that ends mid-page costs as much as one to the page's end).
const PAGE: u64 = 4096;

impl<'a> Window<'a> {
    /// A window whose first read takes `initial` bytes from the start (none when the source holds them).
    pub fn new(source: &'a dyn Source, initial: usize) -> io::Result<Self> {
        let want = initial.min(usize::try_from(source.len()).unwrap_or(usize::MAX));
        let head = source.head();
        let start = head.len().min(want);
        let mut buf = vec![0; want - start];
        if !buf.is_empty() {
            let n = source.read_at(start as u64, &mut buf)?;
            buf.truncate(n);
        }
        Ok(Window {
            source,
            head,
            start: start as u64,
            buf,
        })
    }

    /// The source's length.
    pub fn len(&self) -> u64 {
        self.source.len()
    }

    /// True for an empty source.
    pub fn is_empty(&self) -> bool {
        self.source.len() == 0
    }

    /// The bytes `offset..offset+n`; fewer at the end of the source.
    pub fn get(&mut self, offset: u64, n: usize) -> io::Result<&[u8]> {
        let end = offset.saturating_add(n as u64);
        let head_len = self.head.len() as u64;
        if offset <= head_len && (end <= head_len || head_len == self.source.len()) {
            let head: &'a [u8] = self.head;
            // Both bounds are at most the head's length, which is a usize.
            let from = usize::try_from(offset).unwrap_or(0);
            let to = usize::try_from(end.min(head_len)).unwrap_or(0);
            return Ok(&head[from.min(to)..to]);
        }
        let buf_end = self.start + self.buf.len() as u64;
        if offset < self.start || end > buf_end {
            let available = self.source.len().saturating_sub(offset);
            let ahead = offset.saturating_add(n.max(READ_AHEAD) as u64);
            let page_end = ahead.div_ceil(PAGE).saturating_mul(PAGE);
            let want = (page_end - offset).max(n as u64).min(available);
            let want = usize::try_from(want).unwrap_or(n);
            self.buf.resize(want, 0);
            let got = self.source.read_at(offset, &mut self.buf)?;
            self.buf.truncate(got);
            self.start = offset;
        }
        let from = usize::try_from(offset - self.start).unwrap_or(0);
        let to = (from + n).min(self.buf.len());
        Ok(&self.buf[from.min(to)..to])
    }
}
