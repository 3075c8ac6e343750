//! Events, emitted the way Anchor's `emit!` does: `sol_log_data` of one
//! buffer holding the 8-byte `sha256("event:<Name>")[..8]` discriminator
//! followed by the Borsh bytes of the event's fields.

use crate::layout::{Layout, Pubkey, U64};
use crate::sha256::discriminator;
use crate::state::POINTER_LEN;
use crate::tier::MAX_COMMITTEE_SIZE;

crate::layout! {
    pub struct JobPosted {
        pub job_id: [u8; 32],
        pub client: Pubkey,
        pub escrow_lamports: U64,
        pub bundle_hash: [u8; 32],
        pub runtime_id: [u8; 32],
        pub committee_size: u8,
        pub quorum: u8,
        pub expiry_slot: U64,
    }
}
crate::layout! {
    pub struct JobSeeded {
        pub job_id: [u8; 32],
        pub seed: [u8; 32],
    }
}
crate::layout! {
    pub struct WorkersAssigned {
        pub job_id: [u8; 32],
        pub workers: [Pubkey; MAX_COMMITTEE_SIZE as usize],
        pub count: u8,
        pub required_lock_lamports: U64,
        /// BLAKE3 of the eligible-set snapshot the committee was drawn from.
        pub snapshot_hash: [u8; 32],
        pub deadline_slot: U64,
    }
}
crate::layout! {
    pub struct ResultSubmitted {
        pub job_id: [u8; 32],
        pub worker: Pubkey,
        pub seal: [u8; 32],
        pub slot: U64,
    }
}
crate::layout! {
    pub struct JobQuorumReached {
        pub job_id: [u8; 32],
        pub output_hash: [u8; 32],
        pub votes: u8,
        pub quorum_reached_slot: U64,
        pub da_deadline_slot: U64,
    }
}
crate::layout! {
    pub struct OutputDeclared {
        pub job_id: [u8; 32],
        pub output_hash: [u8; 32],
        pub publisher: Pubkey,
        pub pointer: [u8; POINTER_LEN],
    }
}
crate::layout! {
    pub struct JobFinalized {
        pub job_id: [u8; 32],
        pub output_hash: [u8; 32],
        pub winners: u8,
        pub per_winner_lamports: U64,
        pub treasury_lamports: U64,
    }
}
crate::layout! {
    pub struct WorkerSlashed {
        pub job_id: [u8; 32],
        pub worker: Pubkey,
        pub amount: U64,
    }
}
crate::layout! {
    pub struct WorkerPenalized {
        pub job_id: [u8; 32],
        pub worker: Pubkey,
        pub amount: U64,
    }
}
crate::layout! {
    /// A seat left without pay and without penalty: it was still inside its
    /// round when the job settled or the round was cut off by a reveal.
    pub struct SeatReleased {
        pub job_id: [u8; 32],
        pub worker: Pubkey,
    }
}
crate::layout! {
    pub struct WorkerReassigned {
        pub job_id: [u8; 32],
        pub old_worker: Pubkey,
        pub new_worker: Pubkey,
        pub snapshot_hash: [u8; 32],
        pub deadline_slot: U64,
    }
}
crate::layout! {
    pub struct DaMissed {
        pub job_id: [u8; 32],
        pub output_hash: [u8; 32],
        pub deadline_slot: U64,
    }
}
crate::layout! {
    pub struct JobCancelled {
        pub job_id: [u8; 32],
        pub refund_lamports: U64,
        /// Status the job was in when cancelled.
        pub from_status: u8,
    }
}

/// An event type.
pub trait Event: Layout {
    const DISCRIMINATOR: [u8; 8];

    /// The buffer given to `sol_log_data`: discriminator + Borsh bytes.
    #[cfg(feature = "alloc")]
    fn to_log_data(&self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::with_capacity(8 + Self::LEN);
        out.extend_from_slice(&Self::DISCRIMINATOR);
        out.extend_from_slice(self.as_bytes());
        out
    }
}

macro_rules! events {
    ($($name:ident),* $(,)?) => {
        $(impl Event for $name {
            const DISCRIMINATOR: [u8; 8] = discriminator("event:", stringify!($name));
        })*

        /// Any edgerun event, decoded from `sol_log_data` bytes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum AnyEvent { $($name($name)),* }

        impl AnyEvent {
            /// Every event's name and fields, for the IDL.
            pub const ALL: &'static [(&'static str, [u8; 8], &'static [crate::layout::FieldDef])] =
                &[$((stringify!($name), <$name as Event>::DISCRIMINATOR, <$name as Layout>::FIELDS)),*];

            /// Decodes one `sol_log_data` buffer; `None` when it is not an
            /// edgerun event of the right size.
            pub fn decode(data: &[u8]) -> Option<AnyEvent> {
                let (disc, body) = data.split_at_checked(8)?;
                $(if disc == <$name as Event>::DISCRIMINATOR {
                    return <$name as Layout>::read(body).ok().map(AnyEvent::$name);
                })*
                None
            }

            pub const fn name(&self) -> &'static str {
                match self { $(AnyEvent::$name(_) => stringify!($name)),* }
            }

            pub fn job_id(&self) -> &[u8; 32] {
                match self { $(AnyEvent::$name(e) => &e.job_id),* }
            }
        }
    };
}

events!(
    JobPosted,
    JobSeeded,
    WorkersAssigned,
    ResultSubmitted,
    JobQuorumReached,
    OutputDeclared,
    JobFinalized,
    WorkerSlashed,
    WorkerPenalized,
    WorkerReassigned,
    DaMissed,
    JobCancelled,
    SeatReleased,
);

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use bytemuck::Zeroable;

    #[test]
    fn every_protocol_event_exists_with_an_anchor_discriminator() {
        use sha2::{Digest, Sha256};
        let names: std::vec::Vec<_> = AnyEvent::ALL.iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            [
                "JobPosted",
                "JobSeeded",
                "WorkersAssigned",
                "ResultSubmitted",
                "JobQuorumReached",
                "OutputDeclared",
                "JobFinalized",
                "WorkerSlashed",
                "WorkerPenalized",
                "WorkerReassigned",
                "DaMissed",
                "JobCancelled",
                "SeatReleased"
            ]
        );
        for (name, disc, _) in AnyEvent::ALL {
            let h = Sha256::digest(std::format!("event:{name}").as_bytes());
            assert_eq!(disc, &h[..8], "{name}");
        }
    }

    #[test]
    fn log_data_round_trips_and_foreign_data_is_ignored() {
        let mut e = WorkerSlashed::zeroed();
        e.job_id = [3; 32];
        e.amount.set(77);
        let data = e.to_log_data();
        assert_eq!(AnyEvent::decode(&data), Some(AnyEvent::WorkerSlashed(e)));
        assert_eq!(AnyEvent::decode(&data).unwrap().job_id(), &[3; 32]);
        assert_eq!(AnyEvent::decode(&data[..data.len() - 1]), None);
        assert_eq!(AnyEvent::decode(b"short"), None);
        assert_eq!(AnyEvent::decode(&[0; 64]), None);
    }
}
