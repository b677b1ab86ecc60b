//! A WebRTC leg whose media path died restarts ICE (RFC 8445 §9) by
//! re-INVITE: the offer carries new ICE credentials (RFC 8839
//! §4.4.1.1.1), the peer answers with its own, and both sides look for a
//! working candidate pair again, on the same DTLS association.
//!
//! Why not only wait for consent checks to be answered again (RFC 7675):
//! that is enough when packets were merely dropped, but not when a side's
//! socket died with the path (Chromium closes a UDP socket on a send error
//! it thinks permanent, e.g. `EINVAL` from a blackhole route): only new
//! candidates on the peer's side bring the call back then.
//!
//! The webrtc audio pump asks for it once per outage, when ICE reports
//! `disconnected`; if the path is not back within the pump's grace, the
//! call is hung up as before (`webrtc_audio::DISCONNECTED_GRACE`).

use std::time::Duration;

use super::{SipUa, UaEvent};
use crate::call::softphone::Leg;

impl SipUa {
    /// Offer an ICE restart on `leg` and apply the answer; gives up after
    /// `within` (the re-INVITE may sit in a dead TCP connection).
    pub(super) async fn webrtc_restart_ice(&self, leg: Leg, within: Duration) {
        let (Some(dialog), Some(session)) = (self.dialog_of(leg), self.webrtc_session(leg)) else {
            return;
        };
        let offer = match session.lock().await.restart_offer().await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(?leg, "ICE restart: no offer: {e}");
                return;
            }
        };
        tracing::info!(?leg, "WebRTC media path down: ICE restart by re-INVITE");
        let sent = dialog.reinvite(
            Some(vec![Self::sdp_header()]),
            Some(offer.clone().into_bytes()),
        );
        let answer = match tokio::time::timeout(within, sent).await {
            Ok(Ok(Some(r))) if u16::from(r.status_code.clone()) / 100 == 2 => r.body,
            Ok(Ok(Some(r))) => {
                let code = u16::from(r.status_code.clone());
                self.emit(UaEvent::Problem(format!(
                    "the far end refused an ICE restart ({code})"
                )));
                return;
            }
            Ok(other) => {
                tracing::info!(?leg, "ICE restart: no answer: {other:?}");
                return;
            }
            Err(_) => {
                tracing::info!(?leg, "ICE restart: no answer within {within:?}");
                return;
            }
        };
        let applied = session
            .lock()
            .await
            .apply_answer(&String::from_utf8_lossy(&answer))
            .await;
        match applied {
            Ok(()) => {
                if let Some(w) = self.webrtc_legs().get_mut(&leg) {
                    w.local_sdp = Some(offer);
                }
            }
            Err(e) => self.emit(UaEvent::Problem(format!(
                "the answer to our ICE restart was refused: {e}"
            ))),
        }
    }
}
