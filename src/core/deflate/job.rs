//! A message compressed away from its connection: on another thread, so that a long
//! compression does not hold up everything else the caller's thread has to do (a
//! 1 MiB text takes about 25 ms at zlib's default level).
//!
//! The job carries the connection's compressor. With context takeover each message is
//! compressed against the ones before it, so the connection compresses nothing else
//! until the job comes back (`Hybi::finish_compression`) and its frame is written.

use super::Compressor;

pub struct CompressionJob {
    compressor: Compressor,
    text: bool,
    payload: Vec<u8>,
    /// The compressed payload once `run` has been, or why it could not be.
    packed: Option<Result<Vec<u8>, String>>,
}

impl CompressionJob {
    pub(crate) fn new(compressor: Compressor, text: bool, payload: Vec<u8>) -> Self {
        CompressionJob { compressor, text, payload, packed: None }
    }

    /// Compresses the message: the slow part, which may run on any thread.
    pub fn run(&mut self) {
        if self.packed.is_some() {
            return;
        }
        let mut packed = Vec::new();
        self.packed = Some(self.compressor.compress(&self.payload, &mut packed).map(|()| packed));
        self.payload = Vec::new();
    }

    /// The compressor to put back, whether the message was text, and its compressed
    /// payload (compressed now if `run` never was).
    pub(crate) fn finish(mut self) -> (Compressor, bool, Result<Vec<u8>, String>) {
        self.run();
        let packed = self.packed.unwrap_or_else(|| Err("the message was not compressed".to_owned()));
        (self.compressor, self.text, packed)
    }
}
