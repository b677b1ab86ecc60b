//! One REGISTER attempt. Over TCP, TLS and WebSocket it is given up as
//! soon as the connection it went out on closes: the registrar went away
//! mid-REGISTER (a restart, a crash) and will never answer on that
//! connection, so waiting for the transaction's Timer F (64*T1 = 32 s,
//! RFC 3261 §17.1.2.2) would keep the agent "registering" for half a
//! minute before the retry with backoff even starts.

use rsipstack::dialog::registration::Registration;
use rsipstack::sip::Response;

use super::SipUa;
use crate::sip::Transport;

impl SipUa {
    /// REGISTER with `expires`; the final response, or why there is none
    /// (redacted: it may quote our Authorization).
    pub(super) async fn register_once(
        &self,
        reg: &mut Registration,
        server: rsipstack::sip::Uri,
        expires: u32,
    ) -> Result<Response, String> {
        let lost = &self.inner.transport_lost;
        if self.inner.cfg.transport == Transport::Udp {
            return reg
                .register(server, Some(expires))
                .await
                .map_err(|e| super::redact(&e.to_string()));
        }
        // A close noticed before this attempt (say, of the connection a
        // failed attempt used) is old news: this one dials afresh.
        let _ = futures::FutureExt::now_or_never(lost.notified());
        tokio::select! {
            r = reg.register(server, Some(expires)) => r.map_err(|e| super::redact(&e.to_string())),
            _ = lost.notified() => Err("the connection to the server closed before it answered".into()),
        }
    }
}
