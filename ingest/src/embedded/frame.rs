//! The on-disk framing of records in a segment file.
//!
//! Each record is one frame:
//!
//! ```text
//! u32 LE  body length
//! u32 LE  CRC-32 of the body
//! body:   u8 format (1) | u64 LE offset | i64 LE timestamp ms
//!         | u32 LE key length | key
//!         | u16 LE header count | (u16 LE name length | name | u32 LE value length | value)*
//!         | u32 LE value length | value
//! ```
//!
//! The length lets a reader skip to the next frame; the CRC tells a complete frame from one a
//! crash cut short or scrambled. The offset is stored so that recovery can check that a
//! segment holds exactly the offsets its name and predecessors promise.

use std::io::{self, Read};

use crate::log::{Header, Offset, StoredRecord};

/// Bytes before the body: length and CRC.
pub const FRAME_HEADER_LEN: usize = 8;
const FORMAT: u8 = 1;

/// Encodes one record as a frame, appending it to `out`.
pub fn encode(
    offset: Offset,
    timestamp_ms: i64,
    key: &[u8],
    headers: &[Header],
    value: &[u8],
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    out.push(FORMAT);
    out.extend_from_slice(&offset.0.to_le_bytes());
    out.extend_from_slice(&timestamp_ms.to_le_bytes());
    put_bytes32(out, key);
    let count = u16::try_from(headers.len()).expect("encoded_len refuses over 65535 headers");
    out.extend_from_slice(&count.to_le_bytes());
    for header in headers {
        let name = header.name.as_bytes();
        let len = u16::try_from(name.len()).expect("encoded_len refuses long header names");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(name);
        put_bytes32(out, &header.value);
    }
    put_bytes32(out, value);
    let body = &out[start + FRAME_HEADER_LEN..];
    let body_len = u32::try_from(body.len()).expect("encoded_len refuses bodies over 4 GiB");
    let crc = crc32fast::hash(body);
    out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The size of a record's frame, or `None` if a field exceeds what the format can hold
/// (a header name over 65,535 bytes, more than 65,535 headers, a body over 4 GiB).
pub fn encoded_len(key: &[u8], headers: &[Header], value: &[u8]) -> Option<usize> {
    if headers.len() > usize::from(u16::MAX)
        || headers
            .iter()
            .any(|header| header.name.len() > usize::from(u16::MAX))
    {
        return None;
    }
    let headers_len: usize = headers
        .iter()
        .map(|header| 2 + header.name.len() + 4 + header.value.len())
        .sum();
    let body = 1 + 8 + 8 + 4 + key.len() + 2 + headers_len + 4 + value.len();
    u32::try_from(body).ok()?;
    Some(FRAME_HEADER_LEN + body)
}

fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("encoded_len refuses fields over 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// What a reader found at a position.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameRead {
    /// A complete, intact frame of `len` bytes.
    Record {
        /// The record.
        record: StoredRecord,
        /// The frame's size in bytes.
        len: u64,
    },
    /// The data ended exactly at a frame boundary.
    End,
    /// The data ended inside a frame: a write cut short.
    Torn,
    /// A frame is present but damaged (bad CRC, impossible length, unknown format).
    Corrupt(String),
}

/// Reads frames one after another from a byte stream.
pub struct FrameReader<R> {
    inner: R,
    max_body: usize,
}

impl<R: Read> FrameReader<R> {
    /// A reader refusing bodies over `max_body` bytes as corrupt (a damaged length field must
    /// not make recovery allocate gigabytes).
    pub fn new(inner: R, max_body: usize) -> Self {
        Self { inner, max_body }
    }

    /// Reads the next frame.
    ///
    /// # Errors
    ///
    /// I/O errors of the underlying reader; damage is reported as [`FrameRead`] values.
    pub fn next_frame(&mut self) -> io::Result<FrameRead> {
        let mut header = [0_u8; FRAME_HEADER_LEN];
        match read_full(&mut self.inner, &mut header)? {
            0 => return Ok(FrameRead::End),
            n if n < FRAME_HEADER_LEN => return Ok(FrameRead::Torn),
            _ => {}
        }
        let body_len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if body_len > self.max_body {
            return Ok(FrameRead::Corrupt(format!(
                "frame length {body_len} exceeds the limit {}",
                self.max_body
            )));
        }
        let mut body = vec![0_u8; body_len];
        if read_full(&mut self.inner, &mut body)? < body_len {
            return Ok(FrameRead::Torn);
        }
        if crc32fast::hash(&body) != crc {
            return Ok(FrameRead::Corrupt("CRC mismatch".to_owned()));
        }
        Ok(match decode_body(&body) {
            Some(record) => FrameRead::Record {
                record,
                len: (FRAME_HEADER_LEN + body_len) as u64,
            },
            None => FrameRead::Corrupt("malformed record body".to_owned()),
        })
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn bytes32(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        self.take(len).map(<[u8]>::to_vec)
    }
}

fn decode_body(body: &[u8]) -> Option<StoredRecord> {
    let mut cursor = Cursor(body);
    if cursor.u8()? != FORMAT {
        return None;
    }
    let offset = Offset(cursor.u64()?);
    let timestamp_ms = cursor.u64()? as i64;
    let key = cursor.bytes32()?;
    let count = cursor.u16()?;
    let mut headers = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let name_len = usize::from(cursor.u16()?);
        let name = String::from_utf8(cursor.take(name_len)?.to_vec()).ok()?;
        let value = cursor.bytes32()?;
        headers.push(Header { name, value });
    }
    let value = cursor.bytes32()?;
    if !cursor.0.is_empty() {
        return None;
    }
    Some(StoredRecord {
        offset,
        timestamp_ms,
        key,
        value,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(offset: u64, value: &[u8]) -> Vec<u8> {
        let headers = vec![Header {
            name: "x-request-id".into(),
            value: b"req-1".to_vec(),
        }];
        let mut out = Vec::new();
        encode(
            Offset(offset),
            1_700_000_000_123,
            b"tenant",
            &headers,
            value,
            &mut out,
        );
        assert_eq!(
            Some(out.len()),
            encoded_len(b"tenant", &headers, value),
            "encoded_len agrees with encode"
        );
        out
    }

    fn read_all(bytes: &[u8]) -> (Vec<StoredRecord>, FrameRead) {
        let mut reader = FrameReader::new(bytes, 1 << 20);
        let mut records = Vec::new();
        loop {
            match reader.next_frame().unwrap() {
                FrameRead::Record { record, .. } => records.push(record),
                other => return (records, other),
            }
        }
    }

    #[test]
    fn frames_round_trip_with_key_headers_and_value() {
        let mut bytes = frame(7, b"{\"a\":1}");
        bytes.extend(frame(8, b""));
        let (records, end) = read_all(&bytes);
        assert_eq!(end, FrameRead::End);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].offset, Offset(7));
        assert_eq!(records[0].timestamp_ms, 1_700_000_000_123);
        assert_eq!(records[0].key, b"tenant");
        assert_eq!(records[0].headers[0].name, "x-request-id");
        assert_eq!(records[0].value, b"{\"a\":1}");
        assert_eq!(records[1].value, b"");
    }

    #[test]
    fn a_frame_cut_anywhere_reads_as_torn() {
        let whole = frame(0, b"payload");
        for cut in 1..whole.len() {
            let (records, end) = read_all(&whole[..cut]);
            assert!(records.is_empty());
            assert_eq!(end, FrameRead::Torn, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_reads_as_corrupt() {
        let mut bytes = frame(0, b"payload");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let (records, end) = read_all(&bytes);
        assert!(records.is_empty());
        assert_eq!(end, FrameRead::Corrupt("CRC mismatch".into()));
    }

    #[test]
    fn an_impossible_length_is_corrupt_without_allocating_it() {
        let mut bytes = frame(0, b"payload");
        bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, end) = read_all(&bytes);
        assert!(matches!(end, FrameRead::Corrupt(reason) if reason.contains("exceeds")));
    }
}
