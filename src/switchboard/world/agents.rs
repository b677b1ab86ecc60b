//! An agent's session: login, the JWT, taking the voice channel, devices.

use serde_json::json;

use super::{ConnId, World, WsOut};
use crate::call::vcc::normalise_mobile;
use crate::secret::Secret;
use crate::vcc_wire::{Sender, ServerMsg};

impl World {
    pub(super) fn login(
        &mut self,
        conn: ConnId,
        authen: Option<Secret>,
        user: Option<Secret>,
        init_call_channel: bool,
        from: &Sender,
    ) {
        let who = match self.authenticate(authen.as_ref(), user.as_ref()) {
            Ok(ip) => ip,
            Err(reason) => {
                self.log().note(
                    "login_refused",
                    None,
                    json!({"conn": conn, "reason": reason}),
                );
                if let Some(c) = self.conns.get(&conn) {
                    let _ = c.tx.send(WsOut::Close(format!("login refused: {reason}")));
                }
                return;
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.agent = Some(who.clone());
        }
        let Some(a) = self.agents.get_mut(&who) else {
            return;
        };
        // The voice channel goes to a new login only when nobody holds it.
        let granted = if a.voice.is_none() {
            a.voice = Some(conn);
            true
        } else {
            false
        };
        let (status, device, is_voice) = (a.status.clone(), a.device, a.voice == Some(conn));
        self.log().note(
            "login",
            Some(&who),
            json!({"conn": conn, "voice": is_voice, "device": device,
                   "newer": init_call_channel || user.is_some(), "agentId": from.agent_id}),
        );
        if granted {
            self.log()
                .note("voice_granted", Some(&who), json!({"conn": conn}));
        }
        self.out(
            conn,
            ServerMsg::Refresh {
                agent_status: status,
                is_voice_channel: is_voice,
                device_type: device,
            },
        );
        self.out(
            conn,
            ServerMsg::LoginChannel {
                channel_id: format!("ch-{conn}"),
            },
        );
    }

    pub(super) fn authenticate(
        &self,
        authen: Option<&Secret>,
        user: Option<&Secret>,
    ) -> Result<String, String> {
        let Some(a) = authen else {
            return Err("no authenToken".into());
        };
        let by_3c = self
            .shared
            .token3c
            .lock()
            .ok()
            .and_then(|m| m.get(a.expose()).cloned());
        let ip = match by_3c {
            Some(ip) => ip,
            None => self.shared.check_jwt(a.expose())?,
        };
        if let Some(u) = user {
            let uip = self.shared.check_jwt(u.expose())?;
            if uip != ip {
                return Err("userToken and authenToken name different agents".into());
            }
        }
        Ok(ip)
    }

    pub(super) fn enable_voice(&mut self, conn: ConnId, ip: &str) {
        self.out(conn, ServerMsg::EnableVoiceAck);
        let Some(a) = self.agents.get_mut(ip) else {
            return;
        };
        let prev = a.voice.replace(conn);
        let device = a.device;
        if let Some(p) = prev
            && p != conn
        {
            self.out(p, ServerMsg::VoiceDisabled);
            self.log()
                .note("voice_moved", Some(ip), json!({"from": p, "to": conn}));
        } else if prev.is_none() {
            self.log()
                .note("voice_granted", Some(ip), json!({"conn": conn}));
        }
        self.out(
            conn,
            ServerMsg::VoiceEnabled {
                result: 1,
                device_type: device,
            },
        );
    }

    pub(super) fn change_device(&mut self, conn: ConnId, ip: &str, new: u8, phone: &str) {
        let Some(a) = self.agents.get_mut(ip) else {
            return;
        };
        let old = a.device;
        let mobile = if phone.is_empty() {
            Some(a.mobile.clone()).filter(|m| !m.is_empty())
        } else {
            normalise_mobile(phone)
        };
        let ok = a.spec.allowed_devices.contains(&new)
            && a.call.is_none()
            && (new != 3 || mobile.is_some());
        if ok {
            a.device = new;
            if new == 3
                && let Some(m) = mobile
            {
                a.mobile = m;
            }
        }
        self.log().note(
            "device_change",
            Some(ip),
            json!({"from": old, "to": new, "result": i64::from(ok), "conn": conn}),
        );
        self.out(
            conn,
            ServerMsg::ChangeDeviceResult {
                result: i64::from(ok),
                old_device_type: old,
                new_device_type: new,
            },
        );
    }
}
