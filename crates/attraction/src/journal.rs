//! Giving edited data back as it came: a processor that edits data on its way to the
//! next consumer's `prepare` records its edits in a [`Journal`], and undoes them, last
//! to first, when the data is handed back (refused, or to be offered through `consume`
//! instead), so a retry or another failover level sees the data it sent and no action
//! (`hash`!) applies twice.

use stratus_core::{Consumer, Payload, Prepared, Telemetry};

/// The edits made to one payload, in order; `E` says what changed and where (an
/// attribute list's position and its [`Change`](crate::Change), say). One batch-wide
/// list, so recording allocates nothing per item once it has grown.
#[derive(Debug)]
pub struct Journal<E> {
    entries: Vec<E>,
}

impl<E> Default for Journal<E> {
    fn default() -> Self {
        Journal {
            entries: Vec::new(),
        }
    }
}

impl<E: Send> Journal<E> {
    /// Notes one edit.
    #[inline]
    pub fn record(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// How many edits are noted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no edit is noted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Undoes the noted edits in `payload`, last to first, calling `undo` with each.
    pub fn restore(self, payload: &mut Payload, mut undo: impl FnMut(E, &mut Payload)) {
        for entry in self.entries.into_iter().rev() {
            undo(entry, payload);
        }
    }

    /// Two-phase admission through an editing processor: `edit` changes `data`,
    /// noting its edits in a fresh journal, and `next` is asked to prepare the result.
    /// Data handed back ([`Prepared::Refused`], [`Prepared::Unsupported`]) first has
    /// the edits undone with `undo` (see [`Journal::restore`]); an admission is
    /// returned as it is.
    pub async fn prepare(
        next: &dyn Consumer,
        mut data: Telemetry,
        edit: impl FnOnce(&mut Telemetry, &mut Journal<E>),
        undo: impl FnMut(E, &mut Payload) + Send,
    ) -> Prepared {
        let mut journal = Journal::default();
        edit(&mut data, &mut journal);
        match next.prepare(data).await {
            Prepared::Refused(e, mut back) => {
                journal.restore(&mut back.payload, undo);
                Prepared::Refused(e, back)
            }
            Prepared::Unsupported(mut back) => {
                journal.restore(&mut back.payload, undo);
                Prepared::Unsupported(back)
            }
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_testkit::otlp::traces;

    #[test]
    fn restore_undoes_last_to_first() {
        let mut journal = Journal::default();
        assert!(journal.is_empty());
        for i in 0..3 {
            journal.record(i);
        }
        assert_eq!(journal.len(), 3);
        let mut payload = traces().build().payload.into_payload();
        let mut seen = Vec::new();
        journal.restore(&mut payload, |i, _| seen.push(i));
        assert_eq!(seen, [2, 1, 0]);
    }
}
