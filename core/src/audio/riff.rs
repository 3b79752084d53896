//! Raw RIFF/WAVE bytes built by hand, for the tests and fuzz seeds that need files no encoder
//! writes: declared sizes that lie, chunk sizes near 2^32, inconsistent fmt fields.

/// A RIFF/WAVE file of `chunks` (id, declared size, body), with the RIFF size computed from the
/// bytes actually written.
pub fn riff(chunks: &[(&[u8; 4], u32, &[u8])]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, size, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&size.to_le_bytes());
        body.extend_from_slice(data);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A fmt chunk body: format tag, channels, rate, block align, bits; the byte rate is
/// `rate × block_align`, wrapping like a hostile file's would.
pub fn fmt(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    f.extend_from_slice(&block_align.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f
}
