//! Registration: REGISTER, refresh, back-off, re-REGISTER when the
//! registrar's connection drops, un-REGISTER on stop (RFC 3261 §10.2).

use std::time::Duration;

use rsipstack::dialog::registration::Registration;

use super::start::to_stack_transport;
use super::{SipUa, UaEvent, redact};
use crate::engine::RegState;
use crate::sip::config::Transport;

impl SipUa {
    /// un-REGISTER when stopped (RFC 3261 §10.2; stale bindings make
    /// proxies fork calls to dead phones).
    pub(super) async fn register_loop(
        self,
        ep: rsipstack::transaction::endpoint::EndpointInnerRef,
        mut server: rsipstack::sip::Uri,
    ) {
        if let Some(t) = match self.inner.cfg.transport {
            Transport::Udp => None,
            t => Some(t),
        } {
            server
                .params
                .push(rsipstack::sip::Param::Transport(to_stack_transport(t)));
        }
        let mut reg = Registration::new(ep, Some(self.inner.cred.clone()));
        if matches!(self.inner.cfg.transport, Transport::Ws | Transport::Wss) {
            reg.contact = Some(rsipstack::sip::typed::Contact {
                display_name: None,
                uri: self.inner.contact.clone(),
                params: vec![],
            });
        }
        let expires = self.inner.cfg.expires.max(60);
        let mut failures: u32 = 0;
        let mut registered = false;
        let mut last_problem: Option<String> = None;
        loop {
            self.emit(UaEvent::Registration(RegState::Registering));
            let problem = match self.wss_ensure().await {
                Ok(()) => self.tls_problem().await,
                Err(reason) => Some(reason),
            };
            if let Some(reason) = problem {
                failures += 1;
                // Say it once on screen (a notice stays; the SIP line moves
                // on to "retry in …"), again only when the reason changes.
                if last_problem.as_ref() != Some(&reason) {
                    self.emit(UaEvent::Problem(reason.clone()));
                    last_problem = Some(reason.clone());
                }
                self.emit(UaEvent::Registration(RegState::Failed {
                    code: None,
                    reason,
                }));
                let wait = backoff(failures);
                self.emit(UaEvent::Registration(RegState::Retrying {
                    attempt: failures,
                    retry_in_s: wait.as_secs() as u32,
                }));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = self.inner.reg_cancel.cancelled() => break,
                }
            }
            let wait = match reg.register(server.clone(), Some(expires)).await {
                Ok(resp) if u16::from(resp.status_code.clone()) / 100 == 2 => {
                    failures = 0;
                    last_problem = None;
                    registered = true;
                    let granted = reg.expires().max(1);
                    self.emit(UaEvent::Registration(RegState::Registered {
                        expires: granted,
                    }));
                    // Refresh at 75 % of what the registrar granted.
                    Duration::from_secs(u64::from(granted) * 3 / 4).max(Duration::from_secs(1))
                }
                Ok(resp) => {
                    failures += 1;
                    let code = u16::from(resp.status_code.clone());
                    self.emit(UaEvent::Registration(RegState::Failed {
                        code: Some(code),
                        reason: format!("{code} {}", resp.status_code),
                    }));
                    backoff(failures)
                }
                Err(e) => {
                    failures += 1;
                    self.emit(UaEvent::Registration(RegState::Failed {
                        code: None,
                        reason: redact(&e.to_string()),
                    }));
                    backoff(failures)
                }
            };
            if failures > 0 {
                self.emit(UaEvent::Registration(RegState::Retrying {
                    attempt: failures,
                    retry_in_s: wait.as_secs() as u32,
                }));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.transport_lost.notified(), if registered && failures == 0 => {
                    // The TCP/TLS/WebSocket connection the binding lives on
                    // closed (the registrar restarted, the network dropped):
                    // the binding is dead with it (RFC 5626 §4.4.1), so
                    // register again now on a new connection, not at the
                    // refresh minutes later. A second after, so a
                    // restarting server has a moment to listen.
                    self.emit(UaEvent::Registration(RegState::Retrying {
                        attempt: 1,
                        retry_in_s: 1,
                    }));
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = self.inner.reg_cancel.cancelled() => break,
                    }
                }
                _ = self.inner.reg_cancel.cancelled() => break,
            }
        }
        if registered {
            // The caller bounds this with its own deadline.
            let _ = reg.register(server, Some(0)).await;
            self.emit(UaEvent::Registration(RegState::None));
        }
    }

    /// For TLS accounts: why the server's certificate is not trusted, if
    /// it is not (checked with a handshake of our own before REGISTER).
    pub(super) async fn tls_problem(&self) -> Option<String> {
        if self.inner.cfg.transport != Transport::Tls {
            return None;
        }
        let ca = self.inner.tls_ca.as_ref()?;
        let hp = &self.inner.server.addr;
        let host = hp.host.to_string();
        let port = hp.port.as_ref().map(|p| p.value()).unwrap_or(5061);
        crate::sip::tls_probe::probe(&host, port, ca, Duration::from_secs(5))
            .await
            .err()
    }
}

fn backoff(failures: u32) -> Duration {
    // 2, 4, 8, … capped at 60 s.
    Duration::from_secs((1u64 << failures.min(6)).min(60))
}
