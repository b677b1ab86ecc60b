//! Per-leg bookkeeping: leg numbers, the RTP port, our SDP, the leg's
//! dialog, and forgetting a leg when it ends.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::Header;

use super::{SipUa, UaEvent};
use crate::call::softphone::Leg;
use crate::sip::sdp::{self, LocalAudio};

impl SipUa {
    pub(super) fn new_leg(&self) -> Leg {
        let mut n = self.inner.next_leg.lock().expect("leg lock");
        let leg = Leg(*n);
        *n += 1;
        leg
    }

    /// A real RTP port for our SDP (RFC 3550 §11: even port; we take what
    /// the OS gives and keep the socket for the call's lifetime).
    pub(super) fn bind_rtp(&self) -> (Option<StdUdpSocket>, u16) {
        match StdUdpSocket::bind(SocketAddr::new(self.inner.local_ip, 0)) {
            Ok(s) => {
                let port = s.local_addr().map(|a| a.port()).unwrap_or(0);
                (Some(s), port)
            }
            Err(e) => {
                self.emit(UaEvent::Problem(format!("cannot open an audio port: {e}")));
                (None, 0)
            }
        }
    }

    pub(super) fn local_audio(
        &self,
        port: u16,
        version: u64,
        direction: sdp::Direction,
    ) -> LocalAudio {
        let codecs: Vec<sdp::Codec> = self
            .inner
            .cfg
            .codecs
            .as_slice()
            .iter()
            .map(|&k| sdp::Codec::ours(k))
            .collect();
        LocalAudio {
            addr: self.inner.local_ip,
            port,
            telephone_events: sdp::our_telephone_events(&codecs),
            codecs,
            direction,
            session_id: u64::from(port) * 1000 + 1,
            version,
        }
    }

    /// Our SDP for a leg right now: an answer when the peer offered, an
    /// offer otherwise; `bump` raises the o= version (a changed session).
    pub(super) fn leg_sdp(&self, leg: Leg, bump: bool) -> Option<String> {
        let mut legs = self.inner.legs.lock().expect("legs lock");
        let st = legs.get_mut(&leg)?;
        if bump {
            st.sdp_version += 1;
        }
        let local = self.local_audio(st.rtp_port, st.sdp_version, sdp::Direction::SendRecv);
        Some(match &st.remote {
            Some(r) => local.answer(r, st.codec, st.held_by_us),
            None => {
                let dir = if st.held_by_us {
                    sdp::Direction::SendOnly
                } else {
                    sdp::Direction::SendRecv
                };
                LocalAudio {
                    direction: dir,
                    ..local
                }
                .render()
            }
        })
    }

    pub(super) fn dialog_of(&self, leg: Leg) -> Option<InviteDialog> {
        self.inner
            .legs
            .lock()
            .expect("legs lock")
            .get(&leg)
            .and_then(|s| s.dialog.clone())
    }

    pub(super) fn mark_local_end(&self, leg: Leg) {
        if let Some(s) = self.inner.legs.lock().expect("legs lock").get_mut(&leg) {
            s.ended_locally = true;
        }
    }

    pub(super) fn forget(&self, leg: Leg) {
        self.webrtc_forget(leg);
        self.stop_rtp_media(leg);
        let idle = {
            let mut legs = self.inner.legs.lock().expect("legs lock");
            legs.remove(&leg);
            legs.is_empty()
        };
        if idle {
            // The last call is gone: give the heap that a burst of calls
            // (or an INVITE flood) took back to the system. glibc keeps freed
            // memory in its arenas otherwise; this costs a heap walk, once
            // per idle moment, never during a call.
            // SAFETY: malloc_trim only walks and shrinks glibc's own heaps.
            unsafe {
                libc::malloc_trim(0);
            }
        }
        self.inner
            .invites
            .lock()
            .expect("invites lock")
            .remove(&leg);
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .retain(|_, l| *l != leg);
    }

    pub(super) fn sdp_header() -> Header {
        Header::ContentType("application/sdp".into())
    }

    pub(super) fn leg_for(&self, id: &DialogId) -> Option<Leg> {
        self.inner
            .by_call_id
            .lock()
            .expect("call-id lock")
            .get(&id.call_id)
            .copied()
    }
}
