//! The channel between a pool and its worker processes: length-prefixed frames over a Unix
//! socket. A request is a call id and the `marshal`led `(module, function, args, kwargs)`; a
//! response is the id, a status byte, and the `marshal`led result or the exception as text.
//! `marshal` (not pickle) carries only data — None, bools, numbers, str, bytes, tuples, lists,
//! dicts, sets — so nothing crosses that could run code when read.

use std::io::{self, Read, Write};

use crate::{ExceptionKind, Frame, PyErr};

/// The largest frame read: a corrupt length must not allocate without bound.
const MAX_FRAME: usize = 1 << 30;

/// Writes one frame made of `parts`.
pub(crate) fn write_frame(w: &mut impl Write, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len32 = u32::try_from(len)
        .ok()
        .filter(|&l| l as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame over 1 GiB"))?;
    let mut buf = Vec::with_capacity(4 + len);
    buf.extend_from_slice(&len32.to_le_bytes());
    for p in parts {
        buf.extend_from_slice(p);
    }
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame; `UnexpectedEof` when the other side has gone.
pub(crate) fn read_frame(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Splits a frame into its leading call id and the rest.
pub(crate) fn split_id(frame: &[u8]) -> io::Result<(u64, &[u8])> {
    if frame.len() < 8 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "short frame"));
    }
    let (id, rest) = frame.split_at(8);
    let mut b = [0u8; 8];
    b.copy_from_slice(id);
    Ok((u64::from_le_bytes(b), rest))
}

/// Status byte of a response.
pub(crate) const OK: u8 = 0;
pub(crate) const RAISED: u8 = 1;
/// Not an answer: a message from the worker to the host (`topic \0 data`), sent while a
/// call runs.
pub(crate) const MESSAGE: u8 = 2;

/// An exception as text: `type \0 message \0 kind \0 frames`, frames as
/// `file \t line \t function` lines.
pub(crate) fn encode_error(e: &PyErr) -> Vec<u8> {
    let kind = match e.kind() {
        ExceptionKind::Exception => "E".to_owned(),
        ExceptionKind::SystemExit { code } => format!("X{code}"),
        ExceptionKind::KeyboardInterrupt => "K".to_owned(),
        ExceptionKind::RustPanic => "P".to_owned(),
        _ => "B".to_owned(),
    };
    let frames: Vec<String> = e
        .frames()
        .iter()
        .map(|f| format!("{}\t{}\t{}", f.file, f.line, f.function))
        .collect();
    [e.type_name(), e.message(), &kind, &frames.join("\n")]
        .join("\0")
        .into_bytes()
}

/// The exception [`encode_error`] wrote.
pub(crate) fn decode_error(data: &[u8]) -> PyErr {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\0');
    let type_name = parts.next().unwrap_or("Exception").to_owned();
    let message = parts.next().unwrap_or_default().to_owned();
    let kind = match parts.next().unwrap_or("E") {
        "K" => ExceptionKind::KeyboardInterrupt,
        "P" => ExceptionKind::RustPanic,
        "B" => ExceptionKind::OtherBaseException,
        k if k.starts_with('X') => ExceptionKind::SystemExit {
            code: k[1..].parse().unwrap_or(1),
        },
        _ => ExceptionKind::Exception,
    };
    let frames = parts
        .next()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            Some(Frame {
                file: f.next()?.to_owned(),
                line: f.next()?.parse().ok()?,
                function: f.next()?.to_owned(),
            })
        })
        .collect();
    PyErr::remote(type_name, message, kind, frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_bad_length_is_refused() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &[&7u64.to_le_bytes(), b"payload"]).unwrap();
        let frame = read_frame(&mut buf.as_slice()).unwrap();
        let (id, rest) = split_id(&frame).unwrap();
        assert_eq!((id, rest), (7, &b"payload"[..]));
        let huge = (u32::MAX).to_le_bytes();
        assert!(read_frame(&mut huge.as_slice()).is_err());
        assert_eq!(
            read_frame(&mut [1u8, 0].as_slice()).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn errors_cross_as_text() {
        let e = decode_error(b"ValueError\0bad port\0E\0/x.py\t3\tparse\n/y.py\t9\t<module>");
        assert_eq!(e.type_name(), "ValueError");
        assert_eq!(e.message(), "bad port");
        assert_eq!(e.frames().len(), 2);
        assert_eq!(e.frames()[1].line, 9);
        let e = decode_error(b"SystemExit\x003\x00X3\x00");
        assert_eq!(e.kind(), ExceptionKind::SystemExit { code: 3 });
    }
}
