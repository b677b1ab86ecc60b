//! The console driven like gitui's app tests: real engine `Event`s and key
//! presses go into the real `App`, which renders into ratatui's
//! `TestBackend`; every state is snapshotted at 80×24 and 120×40.
//! Theme colours are asserted on buffer cells.

use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use tongdai::app::keymap::{Key, Keymap};
use tongdai::app::state::{AppState, CallRow, CustomerInfo, Effect, Modal, RecentCall, Setup};
use tongdai::app::theme::{ColorDepth, Role, Theme};
use tongdai::app::{Action, App, Msg};
use tongdai::call::errors::Lang;
use tongdai::crm::{CrmError, CrmRecord};
use tongdai::engine::{
    AgentInfo, Availability, Command, Device, Direction, EndReason, Event, Info, InitFailure,
    InitStep, NotNow, Notice, RegState, RingInfo, TransferDetail,
};
use tongdai::engine::{CallEvent, CallId};
use tongdai::store::Outcome;

struct H {
    app: App,
    t0: Instant,
    now: Instant,
    sent: Vec<Command>,
}

fn harness_with(lang: Lang, theme: &str, depth: ColorDepth) -> H {
    let t0 = Instant::now();
    let state = AppState::new(lang, Keymap::defaults().unwrap(), t0);
    let themes = Theme::cycle(Theme::builtin(theme, depth).unwrap());
    H {
        app: App::new(state, themes),
        t0,
        now: t0,
        sent: Vec::new(),
    }
}

fn harness(lang: Lang) -> H {
    harness_with(lang, "dark", ColorDepth::TrueColor)
}

impl H {
    fn msg(&mut self, m: Msg) -> &mut Self {
        let now = self.now;
        self.app.update(Msg::Tick(now));
        let c = self.app.update(m);
        self.sent.extend(c);
        self
    }
    fn ev(&mut self, e: Event) -> &mut Self {
        self.msg(Msg::Engine(e))
    }
    fn key(&mut self, k: &str) -> &mut Self {
        let key: Key = k.parse().unwrap();
        let mut ev = KeyEvent::new(key.code, key.mods);
        ev.kind = KeyEventKind::Press;
        self.msg(Msg::Key(ev))
    }
    fn keys(&mut self, text: &str) -> &mut Self {
        for c in text.chars() {
            self.key(&c.to_string());
        }
        self
    }
    fn act(&mut self, a: Action) -> &mut Self {
        self.msg(Msg::Action(a))
    }
    fn wait(&mut self, secs: u64) -> &mut Self {
        self.now += Duration::from_secs(secs);
        let now = self.now;
        self.msg(Msg::Tick(now))
    }
    fn take(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.sent)
    }
    /// The store work `update` asked the loop for.
    fn effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.app.state.effects)
    }
    /// The usual connected, available agent with voice here on device 1.
    fn ready(&mut self) -> &mut Self {
        self.ev(Event::Ready)
            .ev(Event::Availability(Availability::On))
            .ev(Event::VoiceChannel(true))
            .ev(Event::DeviceType(Device::Console))
            .ev(Event::Registration(RegState::Registered { expires: 600 }))
    }
    fn ring(&mut self) -> &mut Self {
        self.ev(Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("c-7781".into()),
        })
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Ringing(RingInfo {
                phone: "0987654321".into(),
                display_name: Some("Nguyễn Thị Hồng".into()),
                line: Some("19001234".into()),
                queue: Some("Phím 1: Bán hàng".into()),
                direction: Direction::Inbound,
                agent_leg: false,
            }),
        })
    }
    fn buffer(&self, w: u16, h: u16) -> Buffer {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| self.app.draw(f)).unwrap();
        t.backend().buffer().clone()
    }
    fn text(&self, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| self.app.draw(f)).unwrap();
        t.backend().to_string()
    }
    /// A wide screen, for asserting on text the popup would wrap.
    fn wide(&self) -> String {
        self.text(160, 40)
    }
    fn snap(&self, name: &str) {
        for (w, h) in [(80, 24), (120, 40)] {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), self.text(w, h));
        }
    }
}

fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in 0..area.height {
        let mut line = String::new();
        let mut xs = Vec::new();
        for x in 0..area.width {
            let sym = buf[(x, y)].symbol();
            for _ in sym.chars() {
                xs.push(x);
            }
            line.push_str(sym);
        }
        if let Some(i) = line.find(needle) {
            let ci = line[..i].chars().count();
            return Some((xs[ci], y));
        }
    }
    None
}

// ---- states --------------------------------------------------------------

#[test]
fn first_run_screen() {
    let mut h = harness(Lang::En);
    h.app.state.first_run = Some(Setup {
        config_path: "/home/agent/.config/tongdai/config.toml".into(),
    });
    h.snap("first_run");
    // Keys that need an engine explain instead of failing silently.
    h.keys("0912345678").key("<Enter>");
    assert!(h.take().is_empty());
    assert!(h.text(80, 24).contains("No account is configured"));
    // Help, language and theme still work.
    h.key("?");
    assert!(h.text(80, 24).contains("Keys"));
    h.key("<Esc>").key("L");
    assert!(h.text(80, 24).contains("Chưa cấu hình tài khoản"));
    h.key("<C-t>");
    assert_eq!(h.app.state.theme_name(), "light");
    h.key("q");
    assert!(h.app.state.quitting);
}

#[test]
fn connecting_then_idle() {
    let mut h = harness(Lang::En);
    h.snap("connecting");
    h.ready();
    h.snap("idle");
}

#[test]
fn ringing_inbound_answer_with_enter() {
    let mut h = harness(Lang::En);
    h.ready();
    h.app.state.recent.push(RecentCall {
        number: "0987654321".into(),
        direction: Direction::Inbound,
        when: Some("2026-11-20 09:14".into()),
        talk_secs: Some(192),
        reason: Some(EndReason::RemoteHangup),
    });
    h.ring().wait(7);
    h.snap("ringing_inbound");
    // The popup never hides the keys that answer or reject.
    let t = h.text(80, 24);
    assert!(t.contains("Enter/F2/a answer"), "{t}");
    assert!(t.contains("r reject"), "{t}");
    h.key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(1))
        }]
    );
    h.key("r");
    assert_eq!(
        h.take(),
        vec![Command::Reject {
            call: Some(CallId(1)),
            decline: false
        }]
    );
    // An action as a control socket would send it.
    h.act(Action::Answer);
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(1))
        }]
    );
}

#[test]
fn callout_agent_leg_dialing_customer_ringing_in_call() {
    let mut h = harness(Lang::En);
    h.ready();
    h.keys("0912 345 678");
    h.snap("dial_line_customer");
    h.key("<Enter>");
    assert_eq!(h.take(), vec![Command::CallOut("0912345678".into())]);
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Dialing("0912345678".into()),
    });
    h.snap("dialing");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Outbound,
            agent_leg: true,
        }),
    });
    h.snap("ringing_agent_leg");
    // The agent leg is auto-answered: Enter does not answer it.
    h.key("<Enter>");
    assert!(h.take().is_empty());
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::PlatformId("c-9001".into()),
    })
    .ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CalloutStarted("0912345678".into()),
    })
    .wait(3);
    h.snap("customer_ringing");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CustomerAnswered,
    })
    .wait(65);
    h.snap("in_call_outbound");
    assert_eq!(h.app.state.timer_secs(), Some(65));
}

#[test]
fn in_call_hold_mute_dtmf_end() {
    let mut h = harness(Lang::En);
    h.ready()
        .ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .wait(65);
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Quality(tongdai::engine::Quality {
            jitter_ms: 3.0,
            loss_pct: 0.0,
            rtt_ms: 21.0,
            mos: 4.4,
        }),
    });
    h.snap("in_call");
    h.key("h");
    assert_eq!(
        h.take(),
        vec![Command::ToggleHold {
            call: Some(CallId(1))
        }]
    );
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Held(true),
    })
    .wait(4);
    h.snap("on_hold");
    h.key("<F3>");
    assert_eq!(
        h.take(),
        vec![Command::ToggleHold {
            call: Some(CallId(1))
        }]
    );
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Held(false),
    })
    .key("m");
    assert_eq!(
        h.take(),
        vec![Command::ToggleMute {
            call: Some(CallId(1))
        }]
    );
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Muted(true),
    });
    h.snap("muted");
    h.keys("12#");
    assert_eq!(
        h.take(),
        vec![
            Command::SendDtmf {
                call: Some(CallId(1)),
                digit: '1'
            },
            Command::SendDtmf {
                call: Some(CallId(1)),
                digit: '2'
            },
            Command::SendDtmf {
                call: Some(CallId(1)),
                digit: '#'
            }
        ]
    );
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::DtmfReceived('5'),
    });
    h.snap("dtmf");
    h.key("e");
    assert_eq!(
        h.take(),
        vec![Command::End {
            call: Some(CallId(1))
        }]
    );
    h.wait(10).ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::LocalHangup),
    });
    h.snap("call_ended");
}

#[test]
fn remote_hangup_and_missed_call_end_reasons() {
    let mut h = harness(Lang::Vi);
    h.ready().ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Cancelled),
    });
    assert!(h.text(80, 24).contains("đã huỷ (cuộc gọi nhỡ)"));
    h.ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .wait(30)
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(EndReason::RemoteHangup),
        });
    h.snap("call_ended_vi");
}

#[test]
fn callout_failed_in_both_languages() {
    let mut h = harness(Lang::Vi);
    h.ready();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Dialing("0912345678".into()),
    })
    .ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CalloutFailed {
            error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
            sip_code: Some(486),
            internal: None,
        },
    })
    .ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Failed {
            error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
            sip_code: Some(486),
        }),
    });
    h.snap("callout_failed_vi");
    let mut h = harness(Lang::En);
    h.ready().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CalloutFailed {
            error_code: Some("CALLOUT_PERMISSION_DENY".into()),
            sip_code: None,
            internal: None,
        },
    });
    assert!(
        h.text(80, 24)
            .contains("No permission to call out: ask the admin (CALLOUT_PERMISSION_DENY)")
    );
    h.ev(Event::Notice(Notice::IpccError("IPCCERR0008".into())));
    assert!(
        h.text(80, 24)
            .contains("cannot hold a ringing call (IPCCERR0008)")
    );
}

#[test]
fn voice_elsewhere_and_no_answer() {
    let mut h = harness(Lang::En);
    h.ready()
        .ev(Event::VoiceChannel(false))
        .ev(Event::Availability(Availability::NoAnswer))
        .ev(Event::Registration(RegState::None));
    h.snap("voice_elsewhere");
    assert!(
        h.text(120, 40)
            .contains("in use elsewhere: press v to take it here")
    );
    h.key("v");
    assert_eq!(h.take(), vec![Command::ClaimVoice]);
    h.key("o");
    assert_eq!(h.take(), vec![Command::ToggleAvailability]);
}

/// Issue 13 item 7: a missed ring sets No Answer; the screen says that no
/// more calls come, and which key brings the agent back.
#[test]
fn a_missed_ring_says_no_answer_and_the_key_back() {
    let mut h = harness(Lang::En);
    h.ready().ring();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Cancelled),
    })
    .ev(Event::Availability(Availability::NoAnswer));
    let t = h.text(80, 24);
    assert!(
        t.contains("Missed call: you are now No Answer and get no calls; press o/F6 to go On"),
        "{t}"
    );
    assert!(t.contains("● No Answer o: On"), "{t}");
    // `L` words the notice again in the other language.
    h.key("L");
    assert!(h.text(80, 24).contains("Lỡ cuộc gọi"));
    h.key("L");
    h.key("o");
    assert_eq!(h.take(), vec![Command::ToggleAvailability]);
    h.ev(Event::Availability(Availability::On));
    assert!(!h.text(80, 24).contains("o: On"));

    let mut h = harness(Lang::Vi);
    h.ready().ev(Event::Availability(Availability::NoAnswer));
    let t = h.text(80, 24);
    assert!(
        t.contains("Lỡ cuộc gọi: bạn đang Không nghe máy, không nhận cuộc gọi; nhấn o/F6 để Bật"),
        "{t}"
    );
    assert!(t.contains("o: Bật"), "{t}");
    // Said once, not again for the same state.
    h.app.state.notice = None;
    h.ev(Event::Availability(Availability::NoAnswer));
    assert!(h.app.state.notice.is_none());
}

#[test]
fn reconnecting_and_disconnected() {
    let mut h = harness(Lang::En);
    h.ready()
        .ev(Event::Reconnecting {
            attempt: 3,
            max: 20,
        })
        .ev(Event::Registration(RegState::Retrying {
            attempt: 2,
            retry_in_s: 30,
        }));
    h.snap("reconnecting");
    h.ev(Event::Disconnected)
        .ev(Event::Registration(RegState::Failed {
            code: Some(403),
            reason: "Forbidden".into(),
        }));
    h.snap("disconnected");
    h.key("c");
    assert_eq!(h.take(), vec![Command::Connect]);
    let mut h = harness(Lang::En);
    h.ev(Event::InitFailed(InitFailure::new(
        InitStep::HttpStatus { status: 401 },
        "unauthorized",
    )));
    assert!(
        h.text(120, 40)
            .contains("failed: the platform answered HTTP 401 — platform: “unauthorized”")
    );
}

#[test]
fn device_panel_and_prompts() {
    let mut h = harness(Lang::En);
    h.ready();
    h.key("d");
    h.snap("device_prompt");
    h.key("2");
    assert_eq!(h.take(), vec![Command::ChangeDevice(Device::IpPhone)]);
    h.ev(Event::DeviceType(Device::IpPhone));
    assert!(h.text(80, 24).contains("2 · IP phone / softphone"));
    h.key("d").key("3").keys("09x");
    h.key("<Enter>");
    assert!(h.take().is_empty());
    h.snap("mobile_prompt_invalid");
    h.key("<Backspace>").keys("12000002").key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::ChangeDevice(Device::Mobile {
            number: "0912000002".into()
        })]
    );
    h.ev(Event::DeviceType(Device::Mobile {
        number: "0912000002".into(),
    }));
    h.snap("device_mobile");
    h.key("d").key("4");
    assert_eq!(
        h.take(),
        vec![Command::ChangeDevice(Device::AlwaysOnIpPhone)]
    );
    h.ev(Event::DeviceType(Device::AlwaysOnIpPhone))
        .ev(Event::Notice(Notice::DeviceChangeRefused));
    let t = h.text(80, 24);
    assert!(t.contains("4 · always-on IP phone"), "{t}");
    assert!(t.contains("The server refused the device change"), "{t}");
    // In Vietnamese.
    h.key("L");
    assert!(h.text(80, 24).contains("4 · IP phone luôn bật"));
    h.ev(Event::DeviceType(Device::Console));
    assert!(h.text(80, 24).contains("1 · console này"));
}

#[test]
fn dial_line_validation() {
    let mut h = harness(Lang::En);
    h.ready().keys("1001");
    assert!(h.text(80, 24).contains("internal extension · 4 digits"));
    h.key("<Esc>").keys("01234567890123");
    h.snap("dial_line_too_long");
    h.key("<Enter>");
    assert!(h.take().is_empty());
    assert!(
        h.text(80, 24)
            .contains("Not a number we can call: too long: 14 digits (at most 13)")
    );
    h.key("<Esc>").key(":").keys("sip:1002@pbx.example.com");
    h.snap("dial_edit_sip");
    h.key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::CallOut("sip:1002@pbx.example.com".into())]
    );
    h.msg(Msg::Paste("tel:+84 912 345 678".into()));
    assert!(h.text(80, 24).contains("customer number · 11 digits"));
    h.key("<Enter>");
    assert_eq!(h.take(), vec![Command::CallOut("+84912345678".into())]);
}

#[test]
fn help_overlay_from_the_keymap() {
    let mut h = harness(Lang::En);
    h.ready().key("?");
    h.snap("help");
    let t = h.text(120, 40);
    for row in [
        "answer",
        "reject",
        "hang up",
        "hold",
        "mute",
        "transfer",
        "On/Off",
        "take voice here",
        "device",
        "quit",
    ] {
        assert!(t.contains(row), "help lacks {row}:\n{t}");
    }
    h.key("<Esc>");
    assert!(h.app.state.modal.is_none());
    let mut h = harness(Lang::Vi);
    h.ready().key("<F1>");
    h.snap("help_vi");
}

/// A VCC agent (the demo is one): the console offers only what the
/// platform does. Mute is for inbound calls; transfers go to an agent or a
/// named queue picked from a list, never to a typed number.
#[test]
fn vcc_offers_only_what_the_platform_does() {
    use tongdai::app::state::{Caps, QueueInfo};
    let mut h = harness(Lang::En);
    h.app.state.caps = Caps::vcc(vec![
        QueueInfo {
            id: "q-sales".into(),
            name: "Sales".into(),
        },
        QueueInfo {
            id: "q-support".into(),
            name: "Support".into(),
        },
    ]);
    h.ready()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::PlatformId("c-9001".into()),
        })
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Dialing("0912345678".into()),
        })
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::CalloutStarted("0912345678".into()),
        })
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::CustomerAnswered,
        })
        .wait(5);
    let t = h.text(80, 24);
    assert!(!t.contains("mute"), "mute is offered on a call-out:\n{t}");
    assert!(t.contains("h/F3 hold"), "{t}");
    // The key still explains, in the agent's language, via the engine.
    h.key("m");
    assert_eq!(
        h.take(),
        vec![Command::ToggleMute {
            call: Some(CallId(1))
        }]
    );
    // Inbound: mute is offered.
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::LocalHangup),
    });
    h.ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    assert!(h.text(80, 24).contains("m/F4 mute"));
    // Transfer: Agent and Queue tabs, no Number; the queues are a list.
    h.key("t").take();
    let t = h.text(80, 24);
    assert!(t.contains("Agent") && t.contains("Queue"), "{t}");
    assert!(!t.contains("Number  "), "{t}");
    h.key("<Tab>").key("<Down>");
    h.snap("transfer_queues");
    h.key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::Transfer {
            call: Some(CallId(1)),
            target: tongdai::engine::TransferTarget::Queue("q-support".into())
        }]
    );
    // Typing on the queue list types nothing.
    h.key("t").key("<Tab>").keys("12").key("<Enter>");
    assert_eq!(
        h.take(),
        vec![
            Command::ListTransferAgents,
            Command::Transfer {
                call: Some(CallId(1)),
                target: tongdai::engine::TransferTarget::Queue("q-sales".into())
            }
        ]
    );
}

/// A plain SIP account: no On/Off, voice or device keys; transfer is to a
/// number only.
#[test]
fn sip_offers_no_call_center_keys() {
    use tongdai::app::state::Caps;
    let mut h = harness(Lang::En);
    h.app.state.caps = Caps::sip();
    h.ev(Event::Ready)
        .ev(Event::VoiceChannel(true))
        .ev(Event::Registration(RegState::Registered { expires: 600 }));
    let t = h.text(80, 24);
    for gone in ["On/Off", "take voice", "device"] {
        assert!(!t.contains(gone), "{gone} offered on SIP:\n{t}");
    }
    h.ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    h.key("t");
    assert_eq!(h.take(), Vec::<Command>::new(), "no agent list on SIP");
    h.keys("1002").key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::Transfer {
            call: Some(CallId(1)),
            target: tongdai::engine::TransferTarget::Number("1002".into())
        }]
    );
}

#[test]
fn transfer_prompt_and_offer() {
    let mut h = harness(Lang::En);
    h.ready()
        .ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .wait(20);
    h.key("t");
    assert_eq!(h.take(), vec![Command::ListTransferAgents]);
    h.ev(Event::TransferAgents(vec![
        AgentInfo {
            id: "1101".into(),
            name: "Hoa".into(),
            status: "AVAILABLE".into(),
        },
        AgentInfo {
            id: "1102".into(),
            name: "Khánh".into(),
            status: "AVAILABLE".into(),
        },
    ]));
    h.key("<Down>");
    h.snap("transfer_agents");
    h.key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::Transfer {
            call: Some(CallId(1)),
            target: tongdai::engine::TransferTarget::Agent("1102".into())
        }]
    );
    // Without queues the tabs are Agent and Number.
    h.key("t").key("<Tab>").keys("12x").key("<Enter>");
    h.snap("transfer_number_invalid");
    h.key("<Backspace>")
        .key("<Backspace>")
        .keys("001")
        .key("<Enter>");
    // "1001": an internal extension.
    assert_eq!(
        h.take(),
        vec![
            Command::ListTransferAgents,
            Command::Transfer {
                call: Some(CallId(1)),
                target: tongdai::engine::TransferTarget::Number("1001".into())
            }
        ]
    );
    h.ev(Event::TransferResult {
        ok: true,
        detail: TransferDetail::ToAgent {
            agent: "1102".into(),
        },
    });
    assert!(h.text(80, 24).contains("Transferred to 1102"));

    // Offered to us: 10 s countdown, y accepts.
    let mut h = harness(Lang::En);
    h.ready().ev(Event::TransferOffered {
        call_id: "c-55".into(),
        from_agent: "Hoa (1101)".into(),
    });
    h.wait(3);
    h.snap("transfer_offer");
    assert!(h.text(80, 24).contains("7 s to answer"));
    h.key("y");
    assert_eq!(h.take(), vec![Command::AnswerTransferOffer(true)]);
    // Unanswered offers expire on the screen too.
    h.ev(Event::TransferOffered {
        call_id: "c-56".into(),
        from_agent: "Hoa".into(),
    });
    h.wait(10);
    assert!(h.app.state.offer.is_none());
    assert!(h.text(80, 24).contains("The transfer offer expired"));
    h.ev(Event::TransferOffered {
        call_id: "c-57".into(),
        from_agent: "Hoa".into(),
    });
    h.key("n");
    assert_eq!(h.take(), vec![Command::AnswerTransferOffer(false)]);
}

#[test]
fn quit_asks_while_a_call_is_up() {
    let mut h = harness(Lang::En);
    h.ready()
        .ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .key("q");
    h.snap("quit_confirm");
    assert!(!h.app.state.quitting);
    h.key("n");
    assert!(h.app.state.modal.is_none());
    h.key("q").key("y");
    assert!(h.app.state.quitting);
}

#[test]
fn vietnamese_in_call_at_true_width() {
    let mut h = harness(Lang::Vi);
    h.ready()
        .ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .wait(125);
    h.snap("in_call_vi");
    // Every body row has the call panel's right border in the same column:
    // the diacritics took exactly one cell each.
    for (w, hgt) in [(80u16, 24u16), (120, 40)] {
        let buf = h.buffer(w, hgt);
        let (x, y) = find(&buf, "┐").unwrap();
        for row in y + 1..y + 10 {
            let s = buf[(x, row)].symbol();
            assert!(
                s == "│" || s == "┤" || s == "┘",
                "{w}x{hgt} row {row}: {s:?}"
            );
        }
    }
}

// ---- clock ---------------------------------------------------------------

#[test]
fn timer_redraws_once_a_second_and_only_then() {
    let mut h = harness(Lang::En);
    h.ready().ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    h.app.state.dirty = false;
    let next = h.app.state.next_deadline().unwrap();
    assert_eq!(next, h.now + Duration::from_secs(1));
    h.app.update(Msg::Tick(h.now + Duration::from_millis(400)));
    assert!(!h.app.state.dirty, "no change within the second");
    h.app.update(Msg::Tick(h.now + Duration::from_millis(1000)));
    assert!(h.app.state.dirty);
    // Idle: no deadline at all (the loop sleeps until an input).
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::RemoteHangup),
    });
    assert_eq!(h.app.state.next_deadline(), None);
    assert!(h.t0 <= h.now);
}

#[test]
fn unbound_keys_do_not_redraw() {
    let mut h = harness(Lang::En);
    h.ready();
    h.app.state.dirty = false;
    h.key("z");
    assert!(!h.app.state.dirty);
    // Audio levels redraw only when the shown bar changes.
    h.ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .ev(Event::AudioLevel {
            mic: 0.5,
            speaker: 0.5,
        });
    h.app.state.dirty = false;
    h.ev(Event::AudioLevel {
        mic: 0.51,
        speaker: 0.49,
    });
    assert!(!h.app.state.dirty);
}

#[test]
fn tiny_and_huge_terminals_do_not_panic() {
    let mut h = harness(Lang::Vi);
    h.ready().ring().key("?");
    for (w, hgt) in [(1, 1), (20, 5), (40, 10), (79, 23), (250, 80)] {
        let _ = h.text(w, hgt);
    }
}

// ---- themes ----------------------------------------------------------------

#[test]
fn theme_colours_on_cells() {
    let mut h = harness(Lang::En);
    h.ready().ring();
    let ringing = h.app.theme().unwrap().style(Role::Ringing);
    let buf = h.buffer(80, 24);
    let (x, y) = find(&buf, "● Incoming call").unwrap();
    let cell = &buf[(x, y)];
    assert_eq!(cell.fg, Color::Rgb(0xe0, 0xaf, 0x68));
    assert!(cell.modifier.contains(Modifier::BOLD | Modifier::REVERSED));
    assert_eq!(Some(cell.fg), ringing.fg);
    // The customer popup's border uses the popup role.
    let (px, py) = find(&buf, "┌ Customer").unwrap();
    assert_eq!(buf[(px, py)].fg, Color::Rgb(0xe0, 0xaf, 0x68));
    // Errors are red.
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CalloutFailed {
            error_code: None,
            sip_code: Some(486),
            internal: None,
        },
    });
    let buf = h.buffer(80, 24);
    let (ex, ey) = find(&buf, "The customer is busy").unwrap();
    assert_eq!(buf[(ex, ey)].fg, Color::Rgb(0xf7, 0x76, 0x8e));

    // In call: green badge; held: purple.
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    let buf = h.buffer(80, 24);
    let (x, y) = find(&buf, "● In call").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Rgb(0x9e, 0xce, 0x6a));
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Held(true),
    });
    let buf = h.buffer(80, 24);
    let (x, y) = find(&buf, "● On hold").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Rgb(0xbb, 0x9a, 0xf7));

    // Ctrl-T cycles to the light theme.
    h.key("<C-t>");
    let buf = h.buffer(80, 24);
    let (x, y) = find(&buf, "● On hold").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Rgb(0x82, 0x50, 0xdf));
}

#[test]
fn high_contrast_sixteen_colours_and_no_color() {
    let mut h = harness_with(Lang::En, "high-contrast", ColorDepth::TrueColor);
    h.ready().ring();
    let buf = h.buffer(80, 24);
    let (x, y) = find(&buf, "● Incoming call").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Black);
    assert_eq!(buf[(x, y)].bg, Color::LightYellow);

    let mut h = harness_with(Lang::En, "dark", ColorDepth::Ansi16);
    h.ready().ring();
    let buf = h.buffer(80, 24);
    for cell in buf.content() {
        for c in [cell.fg, cell.bg] {
            assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(16..)), "{c:?}");
        }
    }
    let (x, y) = find(&buf, "● Incoming call").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::LightYellow);

    let mut h = harness_with(Lang::En, "dark", ColorDepth::None);
    h.ready().ring();
    let buf = h.buffer(80, 24);
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    let (x, y) = find(&buf, "● Incoming call").unwrap();
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

// ---- customer popup, wrap-up note, history view ---------------------------

fn call_row(row: i64, when: &str, number: &str, outcome: Outcome, note: Option<&str>) -> CallRow {
    let answered = outcome == Outcome::Answered;
    CallRow {
        row,
        when: when.into(),
        number: number.into(),
        name: None,
        direction: Direction::Inbound,
        talk_secs: answered.then_some(185),
        outcome,
        reason: None,
        missed: outcome == Outcome::Missed,
        note: note.map(str::to_string),
    }
}

/// Hồng is a contact with tags and notes, and has called twice before.
fn hong_info() -> CustomerInfo {
    CustomerInfo {
        name: Some("Nguyễn Thị Hồng".into()),
        company: Some("Công ty Minh An".into()),
        tags: vec!["VIP".into(), "bảo hành".into()],
        notes: Some("Prefers calls after 2 pm".into()),
        recent: vec![
            call_row(
                12,
                "11-20 09:14",
                "0987654321",
                Outcome::Answered,
                Some("asked for the invoice again"),
            ),
            call_row(9, "11-18 16:40", "0987654321", Outcome::Missed, None),
        ],
        first_call: false,
    }
}

fn info_msg(number: &str, info: CustomerInfo) -> Msg {
    Msg::CustomerInfo {
        number: number.into(),
        info,
    }
}

#[test]
fn popup_with_local_contact_tags_notes_and_past_notes() {
    let mut h = harness(Lang::En);
    h.ready().ring();
    h.msg(info_msg("0987654321", hong_info())).wait(3);
    h.snap("popup_local");
    let t = h.wide();
    for want in [
        "Công ty Minh An",
        "[VIP] [bảo hành]",
        "Prefers calls after 2 pm",
        "11-20 09:14 ↘ · 03:05 · answered",
        "✎ asked for the invoice again",
        "11-18 16:40 ↘ · missed",
        "Phím 1: Bán hàng",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    assert!(!t.contains("looking up in CRM"), "{t}");
    // The keys that answer stay on the popup.
    assert!(h.text(80, 24).contains("Enter/F2/a answer"));
}

#[test]
fn popup_first_call_then_crm_fills_in() {
    let mut h = harness(Lang::En);
    h.app.state.crm_configured = true;
    h.ready();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: Some("19001234".into()),
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    });
    // Local data at once: nobody known, no call before.
    h.msg(info_msg(
        "0912345678",
        CustomerInfo {
            first_call: true,
            ..CustomerInfo::default()
        },
    ));
    h.snap("popup_crm_pending");
    let t = h.wide();
    assert!(t.contains("looking up in CRM…"), "{t}");
    assert!(t.contains("first call from this number"), "{t}");
    // The CRM's answer for the same number written another way still fits.
    h.msg(Msg::CrmResult {
        number: "+84912345678".into(),
        result: Ok(Some(CrmRecord {
            name: Some("Trần Văn Bình".into()),
            company: Some("Bình Phát Logistics".into()),
            tags: vec!["new lead".into()],
            notes: Some("Asked for a quote on 3 trucks".into()),
        })),
    });
    h.snap("popup_crm");
    let t = h.wide();
    assert!(!t.contains("looking up in CRM"), "{t}");
    for want in [
        "Trần Văn Bình",
        "Bình Phát Logistics",
        "[new lead]",
        "Asked for a quote on 3 trucks",
        "first call from this number",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
}

#[test]
fn popup_crm_failure_keeps_local_data() {
    for lang in [Lang::En, Lang::Vi] {
        let mut h = harness(lang);
        h.app.state.crm_configured = true;
        h.ready().ring();
        h.msg(info_msg("0987654321", hong_info()));
        h.msg(Msg::CrmResult {
            number: "0987654321".into(),
            result: Err(CrmError::Timeout { timeout_ms: 1500 }),
        });
        let t = h.wide();
        let want = match lang {
            Lang::En => "CRM unavailable: no answer within 1500 ms",
            Lang::Vi => "CRM không dùng được: không trả lời trong 1500 ms",
        };
        assert!(t.contains(want), "{t}");
        assert!(t.contains("[VIP] [bảo hành]"), "{t}");
        assert!(t.contains("asked for the invoice again"), "{t}");
        if lang == Lang::En {
            h.snap("popup_crm_failed");
        }
    }
    // An HTTP failure says the status.
    let mut h = harness(Lang::En);
    h.app.state.crm_configured = true;
    h.ready().ring();
    h.msg(Msg::CrmResult {
        number: "0987654321".into(),
        result: Err(CrmError::Status { status: 503 }),
    });
    assert!(h.wide().contains("CRM unavailable: HTTP 503"));
}

#[test]
fn late_popup_data_for_another_caller_is_dropped() {
    let mut h = harness(Lang::En);
    h.app.state.crm_configured = true;
    h.ready().ring();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::RemoteHangup),
    });
    assert!(h.app.state.popup.is_none());
    // The first caller's answers arrive after the call ended.
    h.msg(info_msg("0987654321", hong_info()));
    h.msg(Msg::CrmResult {
        number: "0987654321".into(),
        result: Ok(Some(CrmRecord {
            name: Some("Stale".into()),
            ..CrmRecord::default()
        })),
    });
    assert!(h.app.state.popup.is_none());
    // A new caller: the old caller's data never shows on their popup.
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "0911222333".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    });
    h.msg(info_msg("0987654321", hong_info()));
    let t = h.wide();
    assert!(t.contains("0911222333"), "{t}");
    assert!(!t.contains("Minh An") && !t.contains("Stale"), "{t}");
    assert!(t.contains("looking up in CRM…"), "{t}");
}

/// A talked call with Hồng that has just ended, notes on.
fn ended_call(h: &mut H) {
    h.app.state.notes_enabled = true;
    h.ready().ring();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    })
    .wait(95);
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::RemoteHangup),
    });
}

#[test]
fn wrap_up_note_saved_on_the_calls_row() {
    let mut h = harness(Lang::En);
    ended_call(&mut h);
    h.msg(Msg::CallRecorded {
        number: "0987654321".into(),
        row: 42,
    });
    h.keys("Hẹn gọi lại thứ 2");
    h.snap("wrap_up");
    assert!(h.effects().is_empty());
    h.key("<Enter>");
    assert_eq!(
        h.effects(),
        vec![Effect::SaveNote {
            row: Some(42),
            number: "0987654321".into(),
            note: "Hẹn gọi lại thứ 2".into(),
        }]
    );
    assert!(h.app.state.wrapup.is_none());
    // Typed text went to the note, not to the keymap (no engine command).
    assert!(h.take().is_empty());
    h.msg(Msg::NoteSaved {
        note: "Hẹn gọi lại thứ 2".into(),
        result: Ok(42),
    });
    assert!(h.text(80, 24).contains("Note saved"));
    // A store that refuses says so (and why).
    h.msg(Msg::NoteSaved {
        note: "x".into(),
        result: Err("database is locked".into()),
    });
    assert!(
        h.text(80, 24)
            .contains("Note not saved — system: “database is locked”")
    );
}

#[test]
fn wrap_up_esc_skips_and_a_missed_call_asks_nothing() {
    let mut h = harness(Lang::En);
    ended_call(&mut h);
    h.keys("x");
    h.key("<Esc>");
    assert!(h.app.state.wrapup.is_none());
    assert!(h.effects().is_empty());
    // A ring nobody answered: no note to ask for.
    h.ring();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Cancelled),
    });
    assert!(h.app.state.wrapup.is_none());
    // Without call history there is nowhere to save one.
    let mut h = harness(Lang::En);
    h.ready().ring();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::RemoteHangup),
    });
    assert!(h.app.state.wrapup.is_none());
}

/// A second customer calls while the agent types.
/// Another call rings (c2; with no call before it, the console's only one).
fn second_ring(h: &mut H) -> &mut H {
    h.ev(Event::Call {
        call: CallId(2),
        event: CallEvent::Ringing(RingInfo {
            phone: "0911222333".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    })
}

/// Text full of keys the keymap binds (r reject, o On/Off, c connect,
/// e end, q quit, a answer, h history, m mute, t transfer, d device, v
/// voice, L language, ? help) and the dial characters.
const BOUND_TEXT: &str = "reo cqa hmtdv L? 0912";

#[test]
fn a_ring_never_turns_the_wrap_up_note_into_commands() {
    let mut h = harness(Lang::En);
    ended_call(&mut h);
    h.msg(Msg::CallRecorded {
        number: "0987654321".into(),
        row: 42,
    });
    h.keys("Khách hẹn ");
    second_ring(&mut h);
    h.keys(BOUND_TEXT);
    // Every letter is in the note; no command, no draft saved behind the agent's back.
    assert_eq!(h.take(), vec![]);
    assert!(h.effects().is_empty());
    let note = format!("Khách hẹn {BOUND_TEXT}");
    assert_eq!(
        h.app.state.wrapup.as_ref().map(|w| w.input.as_str()),
        Some(note.as_str())
    );
    assert!(!h.app.state.quitting && h.app.state.modal.is_none());
    // The ring is on screen, with the one key that answers it.
    h.snap("wrap_up_while_ringing");
    let t = h.text(80, 24);
    assert!(t.contains("0911222333"), "{t}");
    assert!(t.contains("A call is ringing: F2 answers"), "{t}");
    assert!(t.contains("F2 answer"), "{t}");
    // Enter keeps its meaning in the note box: it saves the note.
    h.key("<Enter>");
    assert_eq!(h.take(), vec![]);
    assert_eq!(
        h.effects(),
        vec![Effect::SaveNote {
            row: Some(42),
            number: "0987654321".into(),
            note: note.clone(),
        }]
    );
    assert!(h.app.state.wrapup.is_none());
    // The box closed by the agent's own Enter: now the ring's keys work.
    h.key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );

    // F2 from the note box answers; the draft is saved on the way.
    let mut h = harness(Lang::En);
    ended_call(&mut h);
    h.keys("half a no");
    second_ring(&mut h);
    h.keys("te");
    h.key("<F2>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    assert_eq!(
        h.effects(),
        vec![Effect::SaveNote {
            row: None,
            number: "0987654321".into(),
            note: "half a note".into(),
        }]
    );
    assert!(h.app.state.wrapup.is_none());

    // F5 rejects the ring from the note box; the note stays open.
    let mut h = harness(Lang::Vi);
    ended_call(&mut h);
    h.keys("ghi chú");
    second_ring(&mut h);
    assert!(
        h.text(80, 24)
            .contains("Có cuộc gọi đến: nhấn F2 để trả lời")
    );
    h.key("<F5>");
    assert_eq!(
        h.take(),
        vec![Command::End {
            call: Some(CallId(2))
        }]
    );
    assert_eq!(
        h.app.state.wrapup.as_ref().map(|w| w.input.as_str()),
        Some("ghi chú")
    );
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Rejected { code: 486 }),
    });
    h.keys(" ok");
    assert_eq!(
        h.app.state.wrapup.as_ref().map(|w| w.input.as_str()),
        Some("ghi chú ok")
    );

    // Quitting (F10: text keys go to the note) saves the draft too.
    let mut h = harness(Lang::En);
    ended_call(&mut h);
    h.keys("quick note");
    assert!(!h.app.state.quitting);
    h.key("<F10>");
    assert!(h.app.state.quitting);
    assert_eq!(
        h.effects(),
        vec![Effect::SaveNote {
            row: None,
            number: "0987654321".into(),
            note: "quick note".into(),
        }]
    );
}

#[test]
fn a_ring_never_turns_the_dial_line_into_commands() {
    // Digits typed before the ring stay a number being typed.
    let mut h = harness(Lang::En);
    h.ready().keys("0912");
    second_ring(&mut h);
    h.keys("345678");
    // Letters are no dial text: they do nothing now, rather than act on the ring.
    h.keys("reoa");
    h.key("<Enter>");
    assert_eq!(h.take(), vec![]);
    assert_eq!(h.app.state.dial, "0912345678");
    h.snap("dial_line_while_ringing");
    let t = h.text(80, 24);
    assert!(t.contains("A call is ringing: F2 answers"), "{t}");
    assert!(t.contains("F2 answer"), "{t}");
    // F2 answers; the number waits in the dial line.
    h.key("<F2>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    assert_eq!(h.app.state.dial, "0912345678");

    // Address mode (`:`): every key is text, the ring or not.
    let mut h = harness(Lang::En);
    h.ready().key(":").keys("sip:bob");
    second_ring(&mut h);
    h.keys("@reo.example");
    h.key("<Enter>");
    assert_eq!(h.take(), vec![]);
    assert_eq!(h.app.state.dial, "sip:bob@reo.example");
    assert!(h.app.state.dial_edit);
    assert!(h.text(80, 24).contains("F2 answer"));
    h.key("<F2>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    assert!(!h.app.state.dial_edit);
    assert_eq!(h.app.state.dial, "sip:bob@reo.example");
}

#[test]
fn a_ring_never_turns_the_prompts_into_commands() {
    // The mobile number for device 3.
    let mut h = harness(Lang::En);
    h.ready().key("d").key("3").keys("0912");
    second_ring(&mut h);
    h.keys("345678reo");
    assert_eq!(h.take(), vec![]);
    assert!(matches!(&h.app.state.modal,
        Some(Modal::Mobile { input, .. }) if input == "0912345678reo"));
    h.snap("mobile_prompt_while_ringing");
    assert!(h.text(80, 24).contains("F2 answer"));
    h.key("<F2>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    assert!(h.app.state.modal.is_none());

    // The transfer number, in a call.
    let mut h = harness(Lang::En);
    h.ready().ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    // Tabs here: agent, number (no queue list configured).
    h.key("t").key("<Tab>");
    assert_eq!(h.take(), vec![Command::ListTransferAgents]);
    h.keys("09");
    second_ring(&mut h);
    h.keys("12reo");
    assert_eq!(h.take(), vec![]);
    assert!(matches!(&h.app.state.modal,
        Some(Modal::Transfer(p)) if p.input == "0912reo"));
    // A colleague's transfer offer meanwhile: `y` / `n` are text too.
    let mut h = harness(Lang::En);
    h.ready().ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    h.key("t").key("<Tab>").take();
    h.keys("q-");
    h.ev(Event::TransferOffered {
        call_id: "c-1".into(),
        from_agent: "1002".into(),
    });
    h.keys("yn sales");
    assert_eq!(h.take(), vec![]);
    assert!(matches!(&h.app.state.modal,
        Some(Modal::Transfer(p)) if p.input == "q-yn sales"));
    assert!(h.text(80, 24).contains("F2 accept transfer"));
}

#[test]
fn a_ring_never_turns_the_history_filter_or_note_into_commands() {
    let mut h = harness(Lang::En);
    h.app.state.notes_enabled = true;
    h.ready().key("h");
    h.effects();
    h.msg(Msg::History(Ok(today_rows())));
    h.key("/").keys("09");
    second_ring(&mut h);
    h.keys("87reo");
    assert_eq!(h.take(), vec![]);
    assert!(matches!(&h.app.state.modal,
        Some(Modal::History(v)) if v.filter == "0987reo" && v.filtering));
    h.snap("history_filter_while_ringing");
    h.key("<F2>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    assert!(h.app.state.modal.is_none());

    // A note being edited: F2 answers and the note is saved, not lost.
    let mut h = harness(Lang::En);
    h.app.state.notes_enabled = true;
    h.ready().key("h");
    h.effects();
    h.msg(Msg::History(Ok(today_rows())));
    h.key("n").keys("gọi ");
    second_ring(&mut h);
    h.keys("lại: reo");
    assert_eq!(h.take(), vec![]);
    h.key("<F2>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    assert_eq!(
        h.effects(),
        vec![Effect::SaveNote {
            row: Some(31),
            number: "0912345678".into(),
            note: "gọi lại: reo".into(),
        }]
    );
}

fn today_rows() -> Vec<CallRow> {
    let mut missed = call_row(31, "10:52", "0912345678", Outcome::Missed, None);
    missed.name = Some("Trần Văn Bình".into());
    let mut out = call_row(
        30,
        "10:15",
        "0987654321",
        Outcome::Answered,
        Some("gửi báo giá"),
    );
    out.direction = Direction::Outbound;
    out.name = Some("Nguyễn Thị Hồng".into());
    vec![
        missed,
        out,
        call_row(29, "09:02", "02838123456", Outcome::Answered, None),
    ]
}

#[test]
fn history_view_lists_today_with_missed_calls_and_filters() {
    let mut h = harness(Lang::En);
    h.app.state.notes_enabled = true;
    h.ready();
    h.key("h");
    assert_eq!(h.effects(), vec![Effect::LoadHistory]);
    assert!(h.wide().contains("loading…"));
    h.msg(Msg::History(Ok(today_rows())));
    h.snap("history");
    // The missed call is highlighted with the theme's warning role (it is
    // not selected: the selection starts on the newest row, so move off it).
    h.key("<Down>");
    let buf = h.buffer(120, 40);
    let warning = h.app.theme().unwrap().style(Role::Warning);
    let (x, y) = find(&buf, "10:52").unwrap();
    assert_eq!(Some(buf[(x, y)].fg), warning.fg);
    let selected = h.app.theme().unwrap().style(Role::Selected);
    let (x, y) = find(&buf, "10:15").unwrap();
    assert_eq!(buf[(x, y)].bg, selected.bg.unwrap_or(buf[(x, y)].bg));
    // `/` filters by number; a trunk 0 matches too.
    h.key("/");
    h.keys("0283");
    h.snap("history_filtered");
    let t = h.wide();
    assert!(t.contains("02838123456"), "{t}");
    assert!(
        !t.contains("0912345678") && !t.contains("0987654321"),
        "{t}"
    );
    h.keys("9");
    assert!(h.wide().contains("no call matches"));
    h.key("<Esc>");
    assert!(h.wide().contains("0912345678"));
    // Esc closes the view.
    h.key("<Esc>");
    assert!(h.app.state.modal.is_none());
}

#[test]
fn history_call_back_goes_through_dial() {
    let mut h = harness(Lang::En);
    h.app.state.notes_enabled = true;
    h.ready();
    h.key("h");
    h.msg(Msg::History(Ok(today_rows())));
    h.key("<Down>").key("<Enter>");
    // The same command a typed number and Enter give.
    assert_eq!(h.take(), vec![Command::CallOut("0987654321".into())]);
    assert!(h.app.state.modal.is_none());
    assert!(h.app.state.dial.is_empty());
    let mut typed = harness(Lang::En);
    typed.ready().keys("0987654321").key("<Enter>");
    assert_eq!(typed.take(), vec![Command::CallOut("0987654321".into())]);
    // `c` is the reconnect key, never a call-back; a number the dial
    // rules refuse gets their error.
    h.key("h");
    let mut bad = call_row(1, "08:00", "09x1", Outcome::Missed, None);
    bad.direction = Direction::Internal;
    h.msg(Msg::History(Ok(vec![bad])));
    h.key("c");
    assert!(h.take().is_empty());
    assert!(
        h.app.state.notice.is_none(),
        "c does nothing in the history view"
    );
    h.key("<Enter>");
    assert!(h.take().is_empty());
    let t = h.text(80, 24);
    assert!(t.contains("x"), "{t}");
    assert_eq!(
        h.app.state.notice.as_ref().map(|n| n.level),
        Some(tongdai::app::state::Level::Error)
    );
}

#[test]
fn history_edits_a_note_and_a_ring_closes_the_view() {
    let mut h = harness(Lang::En);
    h.app.state.notes_enabled = true;
    h.ready();
    h.key("h");
    h.effects();
    h.msg(Msg::History(Ok(today_rows())));
    h.key("<Down>").key("n");
    // The old note is there to edit.
    for _ in "gửi báo giá".chars() {
        h.key("<Backspace>");
    }
    h.keys("đã gửi báo giá");
    h.key("<Enter>");
    assert_eq!(
        h.effects(),
        vec![Effect::SaveNote {
            row: Some(30),
            number: "0987654321".into(),
            note: "đã gửi báo giá".into(),
        }]
    );
    h.msg(Msg::NoteSaved {
        note: "đã gửi báo giá".into(),
        result: Ok(30),
    });
    assert!(h.wide().contains("đã gửi báo giá"));
    // A ring closes the view so Enter answers.
    h.ring();
    assert!(!matches!(h.app.state.modal, Some(Modal::History(_))));
    h.key("<Enter>");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(1))
        }]
    );
    // Without history, `h` says so.
    let mut h = harness(Lang::Vi);
    h.ready().key("h");
    assert!(h.app.state.modal.is_none());
    assert!(h.text(80, 24).contains("Lịch sử cuộc gọi đang tắt"));
}

#[test]
fn popup_wrap_up_and_history_in_vietnamese() {
    let mut h = harness(Lang::Vi);
    h.app.state.crm_configured = true;
    h.app.state.notes_enabled = true;
    h.ready().ring();
    h.msg(info_msg("0987654321", hong_info()));
    h.msg(Msg::CrmResult {
        number: "0987654321".into(),
        result: Ok(None),
    });
    h.snap("popup_local_vi");
    let t = h.wide();
    for want in ["Công ty", "Nhãn", "Ghi chú", "đã nghe", "gọi nhỡ"] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    // Not in the CRM, but the contact is known: nothing to say about it.
    assert!(!t.contains("không có trong CRM"), "{t}");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    })
    .wait(30);
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::RemoteHangup),
    });
    assert!(h.wide().contains("Ghi chú cho cuộc gọi với 0987654321"));
    h.key("<Esc>");
    h.key("h");
    h.msg(Msg::History(Ok(today_rows())));
    h.snap("history_vi");
    assert!(h.wide().contains("Cuộc gọi hôm nay"));
}

#[test]
fn crm_not_found_says_so_only_when_nothing_names_the_caller() {
    let mut h = harness(Lang::En);
    h.app.state.crm_configured = true;
    h.ready();
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "0911222333".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    });
    h.msg(Msg::CrmResult {
        number: "0911222333".into(),
        result: Ok(None),
    });
    let t = h.wide();
    assert!(t.contains("not in the CRM"), "{t}");
    assert!(!t.contains("looking up in CRM"), "{t}");
}

/// Issue 13 item 6: today's failed call-outs say why, a transfer says to whom.
#[test]
fn history_says_why_call_outs_failed_and_where_calls_went() {
    let failed = |row, when: &str, number: &str, code: &str, sip: Option<u16>| {
        let mut r = call_row(row, when, number, Outcome::NotAnswered, None);
        r.direction = Direction::Outbound;
        r.reason = Some(EndReason::Failed {
            error_code: Some(code.into()),
            sip_code: sip,
        });
        r
    };
    let mut moved = call_row(40, "11:30", "0987654321", Outcome::Transferred, Some("VIP"));
    moved.talk_secs = Some(62);
    moved.reason = Some(EndReason::Transferred {
        target: "1101".into(),
    });
    let mut busy_sip = call_row(35, "11:00", "1002", Outcome::NotAnswered, None);
    busy_sip.direction = Direction::Outbound;
    busy_sip.reason = Some(EndReason::Busy);
    let rows = vec![
        moved,
        failed(
            39,
            "11:25",
            "0912345486",
            "IPCC_NOT_CONNECT_CUSTOMER",
            Some(486),
        ),
        failed(
            38,
            "11:20",
            "0912345404",
            "IPCC_NOT_CONNECT_CUSTOMER",
            Some(404),
        ),
        failed(37, "11:15", "0912345786", "CALLOUT_AGENT_BUSY", Some(786)),
        failed(36, "11:10", "0912345901", "CALLOUT_PERMISSION_DENY", None),
        busy_sip,
    ];
    let mut h = harness(Lang::En);
    h.app.state.notes_enabled = true;
    h.ready().key("h");
    h.msg(Msg::History(Ok(rows.clone())));
    h.snap("history_reasons");
    let t = h.text(80, 24);
    for want in [
        "transferred → 1101",
        "busy",
        "unreachable",
        "agent busy",
        "no permission",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
    assert!(!t.contains("not answered"), "{t}");
    // The note still fits at 80 columns.
    assert!(t.contains("VIP"), "{t}");

    let mut h = harness(Lang::Vi);
    h.app.state.notes_enabled = true;
    h.ready().key("h");
    h.msg(Msg::History(Ok(rows)));
    let t = h.text(80, 24);
    for want in [
        "đã chuyển → 1101",
        "máy bận",
        "không liên lạc",
        "bạn đang bận",
        "không có quyền",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }

    // The call that just ended: transferred, not "the other side hung up".
    let mut h = harness(Lang::En);
    h.ready()
        .ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .wait(20);
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::Transferred {
            target: "1101".into(),
        }),
    });
    let t = h.text(120, 40);
    assert!(t.contains("transferred to 1101"), "{t}");
    assert!(!t.contains("hung up"), "{t}");
}

// ---- no English in the Vietnamese console --------------------------------

/// English words that must never show in the Vietnamese console. Chosen so
/// that no Vietnamese word written without accents is one of them (`to`,
/// `in`, `an`, `no`, `do` are Vietnamese too) and leaving out proper nouns
/// and key names (SIP, VCC, DTMF, Esc, Enter, F-keys, IPCCERR codes).
const ENGLISH: &[&str] = &[
    "the",
    "call",
    "calls",
    "called",
    "transfer",
    "transferred",
    "transfers",
    "failed",
    "fail",
    "platform",
    "refused",
    "refuses",
    "agent",
    "agents",
    "queue",
    "queues",
    "device",
    "hung",
    "hang",
    "number",
    "numbers",
    "not",
    "now",
    "you",
    "your",
    "with",
    "from",
    "waiting",
    "cannot",
    "answer",
    "answered",
    "busy",
    "available",
    "ringing",
    "rings",
    "missed",
    "hold",
    "held",
    "mute",
    "muted",
    "resume",
    "resumed",
    "press",
    "key",
    "keys",
    "help",
    "quit",
    "connected",
    "disconnected",
    "reconnecting",
    "registered",
    "registering",
    "error",
    "unknown",
    "loading",
    "history",
    "note",
    "saved",
    "mobile",
    "desk",
    "system",
    "detail",
    "and",
    "is",
    "was",
    "this",
    "that",
    "only",
    "ended",
    "offer",
    "offered",
    "accepted",
    "customer",
    "theme",
    "today",
    "filter",
    "on",
    "off",
    "other",
    "party",
    "side",
    "already",
    "console's",
    "went",
    "away",
    "audio",
    "sound",
    "sounds",
    "before",
    "after",
    "first",
    "last",
    "here",
    "there",
    "free",
    "take",
    "back",
    "change",
    "wrong",
    "line",
    "lines",
    "timed",
    "out",
    "lost",
    "cancelled",
    "rejected",
    "elsewhere",
    "server",
    "supervisor",
    "second",
    "retry",
    "expired",
    "unreachable",
    "unavailable",
    "reply",
    "answers",
    "login",
    "demo",
    "switchboard",
    "local",
    "type",
    "typing",
    "address",
    "digits",
    "choose",
    "cancel",
    "close",
    "closes",
    "switch",
    "stay",
    "save",
    "skip",
    "done",
    "edit",
    "none",
    "session",
];

/// The English words of `screen`, ignoring what is quoted as said by the
/// platform or the system (“…”, always labelled) and config snippets.
fn english_words(screen: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut quoted = false;
    for c in screen.chars() {
        match c {
            '“' => quoted = true,
            '”' => quoted = false,
            _ if !quoted => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_'))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| ENGLISH.contains(&w.as_str()))
        .collect()
}

#[track_caller]
fn assert_vietnamese(h: &H, what: &str) {
    for (w, ht) in [(80, 24), (200, 60)] {
        let t = h.text(w, ht);
        let bad = english_words(&t);
        assert!(bad.is_empty(), "{what} at {w}×{ht}: English {bad:?}\n{t}");
    }
}

// Exhaustive lists: a new variant fails to compile here until it is added.
fn every_not_now() -> Vec<NotNow> {
    use NotNow::*;
    let all = vec![
        NotConnected,
        VoiceAlreadyHere,
        VoiceElsewhere,
        AvailabilityPending,
        NoRinging,
        NoOffer,
        NotInCall,
        AlreadyInCall,
        HoldOrEndFirst,
        DtmfDigits,
        DtmfOnPhone,
        InternalFromPhone,
        ConsoleAudioUnavailable,
        AnswerOnPhone,
        ResumeBeforeEnd,
        ResumeBeforeMute,
        RequestPending,
        RingingNoHold,
        RingingNoMute,
        MuteInboundOnly,
        DevicePending,
        DeviceDuringCall,
        TransferNeedsAnswer,
        TransferAgentOrQueue,
        NoControlPlane,
        NumbersOnly,
        PlatformLacks,
        NothingToSwap,
        NoConsult,
        TwoCallsUp,
        NeedTwoCalls,
    ];
    for n in &all {
        match n {
            NotConnected
            | VoiceAlreadyHere
            | VoiceElsewhere
            | AvailabilityPending
            | NoRinging
            | NoOffer
            | NotInCall
            | AlreadyInCall
            | HoldOrEndFirst
            | DtmfDigits
            | DtmfOnPhone
            | InternalFromPhone
            | ConsoleAudioUnavailable
            | AnswerOnPhone
            | ResumeBeforeEnd
            | ResumeBeforeMute
            | RequestPending
            | RingingNoHold
            | RingingNoMute
            | MuteInboundOnly
            | DevicePending
            | DeviceDuringCall
            | TransferNeedsAnswer
            | TransferAgentOrQueue
            | NoControlPlane
            | NumbersOnly
            | PlatformLacks
            | NothingToSwap
            | NoConsult
            | TwoCallsUp
            | NeedTwoCalls => {}
        }
    }
    all
}

fn every_info() -> Vec<Info> {
    let d = || "device busy (os error 16)".to_string();
    let all = vec![
        Info::EndingWhenNamed,
        Info::VoiceNotGiven,
        Info::SupervisorEnded {
            agent: "9000".into(),
        },
        Info::VoiceInUseElsewhere,
        Info::VoiceMovedAway,
        Info::VoiceRetaken,
        Info::VoiceMovedSessionEnded,
        Info::RingsWithoutAudio,
        Info::VoiceUnavailable { detail: d() },
        Info::BusySecondCall {
            number: "0903123456".into(),
        },
        Info::BusyThirdCall {
            number: "0903123456".into(),
        },
        Info::TransferRefused { code: 403 },
        Info::ReplacesFallback { code: 481 },
        Info::ConferenceUnavailable,
        Info::RemoteHold { held: true },
        Info::RemoteHold { held: false },
        Info::HoldRefused { held: true },
        Info::HoldRefused { held: false },
        Info::TransferProgress { code: 100 },
        Info::AudioDeviceLost { detail: d() },
        Info::RecordingStopped {
            file: "/srv/ghi-am/1.wav".into(),
            disk_full: true,
        },
        Info::RecordingStopped {
            file: "/srv/ghi-am/1.wav".into(),
            disk_full: false,
        },
        Info::HistoryOff { detail: d() },
        Info::SoundsOff { detail: d() },
        Info::SoundDeviceFailed {
            ring: true,
            detail: d(),
        },
        Info::SoundDeviceFailed {
            ring: false,
            detail: d(),
        },
        Info::SoundDeviceLost {
            ring: true,
            detail: d(),
        },
        Info::SoundDeviceLost {
            ring: false,
            detail: d(),
        },
        Info::AnsweredOnDeskPhone,
        Info::AnsweredOnMobile,
        Info::SipProblem { detail: d() },
        Info::Referred {
            target: "sip:1003@pbx".into(),
        },
        Info::CallReplaced {
            number: "1003".into(),
        },
    ];
    for i in &all {
        match i {
            Info::EndingWhenNamed
            | Info::VoiceNotGiven
            | Info::SupervisorEnded { .. }
            | Info::VoiceInUseElsewhere
            | Info::VoiceMovedAway
            | Info::VoiceRetaken
            | Info::VoiceMovedSessionEnded
            | Info::RingsWithoutAudio
            | Info::VoiceUnavailable { .. }
            | Info::BusySecondCall { .. }
            | Info::BusyThirdCall { .. }
            | Info::TransferRefused { .. }
            | Info::ReplacesFallback { .. }
            | Info::ConferenceUnavailable
            | Info::RemoteHold { .. }
            | Info::HoldRefused { .. }
            | Info::TransferProgress { .. }
            | Info::AudioDeviceLost { .. }
            | Info::RecordingStopped { .. }
            | Info::HistoryOff { .. }
            | Info::SoundsOff { .. }
            | Info::SoundDeviceFailed { .. }
            | Info::SoundDeviceLost { .. }
            | Info::AnsweredOnDeskPhone
            | Info::AnsweredOnMobile
            | Info::SipProblem { .. }
            | Info::Referred { .. }
            | Info::CallReplaced { .. } => {}
        }
    }
    all
}

fn every_transfer_result() -> Vec<(bool, TransferDetail)> {
    let all = vec![
        (false, TransferDetail::OfferTimedOut),
        (true, TransferDetail::YouAccepted),
        (false, TransferDetail::YouRefused),
        (
            true,
            TransferDetail::ToAgent {
                agent: "1101".into(),
            },
        ),
        (
            false,
            TransferDetail::ToAgentFailed {
                agent: "1101".into(),
                status: "IPCCERR0001".into(),
            },
        ),
        (
            false,
            TransferDetail::ToAgentFailed {
                agent: "1101".into(),
                status: "agent logged out".into(),
            },
        ),
        (true, TransferDetail::OtherAccepted),
        (false, TransferDetail::OtherRefused),
        (true, TransferDetail::ToQueue),
        (
            false,
            TransferDetail::ToQueueFailed {
                status: "IPCCERR0013".into(),
            },
        ),
        (true, TransferDetail::Sip { code: 202 }),
        (false, TransferDetail::Sip { code: 603 }),
    ];
    for (_, d) in &all {
        match d {
            TransferDetail::OfferTimedOut
            | TransferDetail::YouAccepted
            | TransferDetail::YouRefused
            | TransferDetail::ToAgent { .. }
            | TransferDetail::ToAgentFailed { .. }
            | TransferDetail::OtherAccepted
            | TransferDetail::OtherRefused
            | TransferDetail::ToQueue
            | TransferDetail::ToQueueFailed { .. }
            | TransferDetail::Sip { .. } => {}
        }
    }
    all
}

fn every_init_step() -> Vec<InitStep> {
    let all = vec![
        InitStep::Credentials,
        InitStep::Unreachable,
        InitStep::Refused,
        InitStep::HttpStatus { status: 401 },
        InitStep::BadReply,
        InitStep::PushClosed,
        InitStep::Config,
        InitStep::Start,
    ];
    for s in &all {
        match s {
            InitStep::Credentials
            | InitStep::Unreachable
            | InitStep::Refused
            | InitStep::HttpStatus { .. }
            | InitStep::BadReply
            | InitStep::PushClosed
            | InitStep::Config
            | InitStep::Start => {}
        }
    }
    all
}

fn every_end_reason() -> Vec<EndReason> {
    vec![
        EndReason::LocalHangup,
        EndReason::RemoteHangup,
        EndReason::Cancelled,
        EndReason::Busy,
        EndReason::NoAnswer,
        EndReason::Rejected { code: 486 },
        EndReason::Failed {
            error_code: Some("IPCC_NOT_CONNECT_CUSTOMER".into()),
            sip_code: Some(404),
        },
        EndReason::Failed {
            error_code: Some("CALLOUT_AGENT_BUSY".into()),
            sip_code: None,
        },
        EndReason::Timeout,
        EndReason::TransportLost,
        EndReason::AnsweredElsewhere,
    ]
}

/// Every notice the engine can send, every screen and overlay, rendered in
/// Vietnamese: no English word from [`ENGLISH`] may show.
#[test]
fn the_vietnamese_console_has_no_english() {
    use tongdai::app::state::{Banner, Caps, HistoryView, NoticeText, QueueInfo};
    let mut notices: Vec<Notice> = vec![
        Notice::IpccError("IPCCERR0013".into()),
        Notice::IpccError("IPCCERR9999".into()),
        Notice::AvailabilityRefused,
        Notice::DeviceChangeRefused,
        Notice::BadNumber("12x".into()),
        Notice::InsecureTls,
        Notice::Server("Service temporarily unavailable".into()),
    ];
    notices.extend(every_not_now().into_iter().map(Notice::NotNow));
    notices.extend(every_info().into_iter().map(Notice::Info));

    // The check itself sees English where there is some.
    let mut en = harness(Lang::En);
    en.ready()
        .ev(Event::Notice(Notice::NotNow(NotNow::MuteInboundOnly)));
    assert!(english_words(&en.text(120, 40)).contains(&"platform".to_string()));

    // Every notice, shown on the notice line and in the activity log.
    let mut h = harness(Lang::Vi);
    h.ready();
    h.app.state.banner = Some(Banner::Demo {
        addr: "127.0.0.1:41234".into(),
        agent: "1001".into(),
    });
    for n in notices {
        h.ev(Event::Notice(n.clone()));
        assert_vietnamese(&h, &format!("{n:?}"));
    }
    for (ok, detail) in every_transfer_result() {
        h.ev(Event::TransferResult {
            ok,
            detail: detail.clone(),
        });
        assert_vietnamese(&h, &format!("{detail:?}"));
    }
    for step in every_init_step() {
        h.ev(Event::InitFailed(InitFailure::new(
            step.clone(),
            "no agent with ipphone 9999",
        )));
        assert_vietnamese(&h, &format!("{step:?}"));
    }
    for (code, sip) in [
        (Some("IPCC_NOT_CONNECT_CUSTOMER"), Some(486)),
        (Some("CALLOUT_PERMISSION_DENY"), None),
        (None, Some(404)),
    ] {
        h.ev(Event::Call {
            call: CallId(1),
            event: CallEvent::CalloutFailed {
                error_code: code.map(str::to_string),
                sip_code: sip,
                internal: None,
            },
        });
        assert_vietnamese(&h, &format!("callout {code:?} {sip:?}"));
    }
    for r in every_end_reason() {
        h.ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Dialing("0912345678".into()),
        })
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Ended(r.clone()),
        });
        assert_vietnamese(&h, &format!("{r:?}"));
    }
    for t in [
        NoticeText::MissingAccount(tongdai::config::BackendKind::Sip),
        NoticeText::MissingAccount(tongdai::config::BackendKind::Vcc),
        NoticeText::OfferExpired,
        NoticeText::Theme("light".into()),
        NoticeText::NoteNotSaved("database is locked".into()),
        NoticeText::Crm(CrmError::Timeout { timeout_ms: 1500 }),
        NoticeText::Crm(CrmError::Unreachable {
            detail: "connection refused".into(),
        }),
    ] {
        h.app
            .state
            .set_notice(tongdai::app::state::Level::Warning, t.clone());
        assert_vietnamese(&h, &format!("{t:?}"));
    }

    // Connection and registration states.
    for e in [
        Event::Reconnecting {
            attempt: 2,
            max: 20,
        },
        Event::Disconnected,
        Event::Registration(RegState::None),
        Event::Registration(RegState::Registering),
        Event::Registration(RegState::Failed {
            code: Some(403),
            reason: "Forbidden".into(),
        }),
        Event::Registration(RegState::Retrying {
            attempt: 2,
            retry_in_s: 30,
        }),
        Event::VoiceChannel(false),
        Event::Availability(Availability::NoAnswer),
        Event::DeviceType(Device::AlwaysOnIpPhone),
        Event::DeviceType(Device::Mobile {
            number: "0912000002".into(),
        }),
    ] {
        h.ev(e.clone());
        assert_vietnamese(&h, &format!("{e:?}"));
    }

    // Every call phase, with the popup, on a VCC console with queues.
    let mut h = harness(Lang::Vi);
    h.app.state.caps = Caps::vcc(vec![QueueInfo {
        id: "q-sales".into(),
        name: "Bán hàng".into(),
    }]);
    h.ready().ring().wait(3);
    assert_vietnamese(&h, "ringing");
    // The agent's own data is Vietnamese here (notes are not ours to translate).
    let mut info = hong_info();
    info.notes = Some("Thích được gọi sau 2 giờ chiều".into());
    for r in &mut info.recent {
        r.note = r.note.as_ref().map(|_| "hỏi lại hoá đơn".to_string());
    }
    h.msg(info_msg("0987654321", info));
    assert_vietnamese(&h, "popup with local data");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    })
    .ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Muted(true),
    })
    .wait(5);
    assert_vietnamese(&h, "muted");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Held(true),
    })
    .keys("12");
    assert_vietnamese(&h, "held");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Quality(tongdai::engine::Quality {
            jitter_ms: 12.0,
            loss_pct: 0.5,
            rtt_ms: 40.0,
            mos: 4.2,
        }),
    })
    .ev(Event::AudioLevel {
        mic: 0.5,
        speaker: 0.3,
    });
    assert_vietnamese(&h, "quality");
    h.key("t").ev(Event::TransferAgents(vec![AgentInfo {
        id: "1101".into(),
        name: "Hoa".into(),
        status: "AVAILABLE / READY".into(),
    }]));
    assert_vietnamese(&h, "transfer: agents");
    h.key("<Tab>");
    assert_vietnamese(&h, "transfer: queues");
    h.key("<Esc>").ev(Event::TransferOffered {
        call_id: "c-55".into(),
        from_agent: "Hoa (1101)".into(),
    });
    assert_vietnamese(&h, "transfer offer");
    h.key("q");
    assert_vietnamese(&h, "quit confirm");
    h.key("n").ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::RemoteHangup),
    });
    assert_vietnamese(&h, "wrap-up");
    h.key("<Esc>").key("d");
    assert_vietnamese(&h, "device chooser");
    h.key("3").keys("12").key("<Enter>");
    assert_vietnamese(&h, "mobile prompt");
    h.key("<Esc>");
    // Outbound phases.
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ringing(RingInfo {
            phone: "0912345678".into(),
            display_name: None,
            line: None,
            queue: None,
            direction: Direction::Outbound,
            agent_leg: true,
        }),
    });
    assert_vietnamese(&h, "agent leg");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    })
    .ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CalloutStarted("0912345678".into()),
    });
    assert_vietnamese(&h, "customer ringing");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::CustomerAnswered,
    });
    assert_vietnamese(&h, "outbound in call");
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Ended(EndReason::LocalHangup),
    })
    .key("<Esc>");

    // Dial line: each check, and typing an address.
    for text in [
        "0912345678",
        "1001",
        "12x",
        "09+1",
        "01234567890123",
        "+1001",
    ] {
        h.app.state.dial = text.into();
        assert_vietnamese(&h, text);
    }
    h.app.state.dial.clear();
    h.key(":").keys("sip:");
    assert_vietnamese(&h, "dial edit");
    h.key("<Esc>");

    // Help, scrolled over every row (rendered tall enough for all).
    h.key("?");
    let t = h.text(200, 80);
    assert!(
        english_words(&t).is_empty(),
        "help: {:?}\n{t}",
        english_words(&t)
    );
    h.key("<Esc>");

    // History: loading, rows, filter, note editing, an error, empty.
    h.app.state.notes_enabled = true;
    h.key("h");
    assert_vietnamese(&h, "history loading");
    h.msg(Msg::History(Ok(today_rows())));
    assert_vietnamese(&h, "history");
    h.key("/").keys("0912");
    assert_vietnamese(&h, "history filter");
    h.key("<Enter>").key("n");
    assert_vietnamese(&h, "history note");
    h.key("<Esc>").key("<Esc>");
    h.app.state.modal = Some(Modal::History(HistoryView::new()));
    h.msg(Msg::History(Err("database is locked".into())));
    assert_vietnamese(&h, "history error");
    h.app.state.modal = Some(Modal::History(HistoryView::new()));
    h.msg(Msg::History(Ok(Vec::new())));
    assert_vietnamese(&h, "history empty");
    h.key("<Esc>");

    // CRM states in the popup.
    let mut h = harness(Lang::Vi);
    h.app.state.crm_configured = true;
    h.ready().ring();
    assert_vietnamese(&h, "crm pending");
    for e in [
        CrmError::Timeout { timeout_ms: 1500 },
        CrmError::Status { status: 503 },
        CrmError::MalformedJson {
            detail: "expected value".into(),
        },
    ] {
        h.msg(Msg::CrmResult {
            number: "0987654321".into(),
            result: Err(e),
        });
        assert_vietnamese(&h, "crm failed");
    }

    // The first-run screen (its config example is code, not prose).
    let mut h = harness(Lang::Vi);
    h.app.state.first_run = Some(Setup {
        config_path: "/home/lan/.config/tongdai/config.toml".into(),
    });
    // `tongdai demo` is a command to type, not prose.
    let t = h
        .text(120, 40)
        .replace("tongdai demo", "")
        .replace("backend = \"sip\"", "")
        .replace("[sip]", "");
    let t: String = t
        .lines()
        .filter(|l| !l.contains(" = \""))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(english_words(&t).is_empty(), "{:?}\n{t}", english_words(&t));
}

/// `L` re-renders what is already on screen: the notice line and the
/// activity log switch language too.
#[test]
fn switching_language_rewords_the_notices_already_shown() {
    let mut h = harness(Lang::En);
    h.ready()
        .ev(Event::Notice(Notice::NotNow(NotNow::MuteInboundOnly)))
        .ev(Event::TransferResult {
            ok: false,
            detail: TransferDetail::ToQueueFailed {
                status: "IPCCERR0013".into(),
            },
        });
    let t = h.text(120, 40);
    assert!(t.contains("Transfer to the queue failed"), "{t}");
    assert!(t.contains("the platform mutes inbound calls only"), "{t}");
    h.key("L");
    let t = h.text(120, 40);
    assert!(
        t.contains("Chuyển cuộc gọi vào hàng đợi thất bại: chuyển cuộc gọi thất bại (IPCCERR0013)"),
        "{t}"
    );
    // The activity log (tall screens) rewords its older line too.
    assert!(t.contains("tổng đài chỉ cho tắt tiếng cuộc gọi vào"), "{t}");
    assert!(english_words(&t).is_empty(), "{:?}", english_words(&t));
}

/// Device 4 (the demo's start): the desk phone answers and DTMF is typed on
/// it. Digits typed in the console are not sent, and the reason is said
/// once per call, not once per key.
#[test]
fn dtmf_on_a_desk_phone_call_is_refused_once_with_the_reason() {
    use tongdai::app::state::Caps;
    let mut h = harness(Lang::En);
    h.app.state.caps = Caps::vcc(Vec::new());
    h.ready()
        .ev(Event::DeviceType(Device::AlwaysOnIpPhone))
        .ring()
        .ev(Event::Call {
            call: CallId(1),
            event: CallEvent::Accepted,
        })
        .ev(Event::Notice(Notice::Info(Info::AnsweredOnDeskPhone)));
    assert!(h.text(80, 24).contains("answered on your desk phone"));
    h.keys("12");
    assert!(h.take().is_empty(), "no DTMF is sent from the console");
    let t = h.text(120, 40);
    assert!(t.contains("press the digits on the phone itself"), "{t}");
    assert_eq!(
        h.app
            .state
            .activity
            .iter()
            .filter(|n| n.text
                == tongdai::app::state::NoticeText::Engine(Notice::NotNow(NotNow::DtmfOnPhone)))
            .count(),
        1,
        "said once"
    );
    // On device 1 the same keys are DTMF.
    let mut h = harness(Lang::En);
    h.app.state.caps = Caps::vcc(Vec::new());
    h.ready().ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    h.keys("1");
    assert_eq!(
        h.take(),
        vec![Command::SendDtmf {
            call: Some(CallId(1)),
            digit: '1'
        }]
    );
}

/// Small screens: a long notice ends in "…"; under 80 columns the panels
/// stack instead of overlapping; under the minimum one line says to
/// enlarge the terminal and still names the hang-up key.
#[test]
fn small_screens_stay_readable() {
    let mut h = harness(Lang::En);
    h.ready()
        .ev(Event::Notice(Notice::NotNow(NotNow::InternalFromPhone)));
    let t = h.text(80, 24);
    let line = t
        .lines()
        .find(|l| l.contains("Not now"))
        .expect("the notice line");
    assert!(
        line.trim_end_matches('"').trim_end().ends_with('…'),
        "{line}"
    );
    h.snap("long_notice");

    // 60 columns, a ring with its popup: the call and the customer stack.
    h.ring().wait(2);
    let t = h.text(60, 24);
    insta::assert_snapshot!("ringing_60x24", t);
    let call_top = t.lines().position(|l| l.contains("┌ Call")).unwrap();
    let cust_top = t.lines().position(|l| l.contains("┌ Customer")).unwrap();
    assert!(cust_top > call_top, "stacked, not side by side:\n{t}");
    assert!(
        t.lines()
            .all(|l| !(l.contains("Call") && l.contains("Customer"))),
        "no row holds both panels:\n{t}"
    );

    // Below the minimum, in a call: one line, with the key that hangs up.
    h.ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    let t = h.text(40, 10);
    assert!(t.contains("Enlarge the terminal to at least 50×12"), "{t}");
    assert!(t.contains("e/F5 hang up"), "{t}");
    h.key("e");
    assert_eq!(
        h.take(),
        vec![Command::End {
            call: Some(CallId(1))
        }]
    );
    let mut vi = harness(Lang::Vi);
    vi.ready();
    assert!(vi.text(30, 8).contains("mở rộng"));
}

/// The popup of a call-out says "first call to this number"; a display
/// name that is only the number is no name.
#[test]
fn popup_words_for_call_outs_and_number_only_names() {
    let mut h = harness(Lang::En);
    h.ready()
        .ev(Event::Call {
            call: CallId(2),
            event: CallEvent::Dialing("0912345678".into()),
        })
        .ev(Event::Call {
            call: CallId(2),
            event: CallEvent::CalloutStarted("0912345678".into()),
        });
    h.msg(info_msg(
        "0912345678",
        CustomerInfo {
            first_call: true,
            ..CustomerInfo::default()
        },
    ));
    let t = h.wide();
    assert!(t.contains("first call to this number"), "{t}");
    assert!(!t.contains("first call from"), "{t}");

    let mut h = harness(Lang::En);
    h.ready().ev(Event::call(
        CallId(3),
        CallEvent::Ringing(RingInfo {
            phone: "0987654321".into(),
            display_name: Some("0987654321".into()),
            line: None,
            queue: None,
            direction: Direction::Inbound,
            agent_leg: false,
        }),
    ));
    let t = h.wide();
    assert!(!t.contains("Name"), "the number shown as a name:\n{t}");
    assert!(
        t.contains("first call from this number") || t.contains("Recent calls"),
        "{t}"
    );
}

/// With no notice the idle hint bar keeps every key that works: a second
/// line rather than dropping `v/F9` and `d/F8` to make room for help.
#[test]
fn the_idle_hint_bar_drops_no_key() {
    for lang in [Lang::En, Lang::Vi] {
        let mut h = harness(lang);
        h.ev(Event::Ready)
            .ev(Event::Availability(Availability::On))
            .ev(Event::VoiceChannel(false))
            .ev(Event::DeviceType(Device::Console));
        assert!(h.app.state.notice.is_none());
        let t = h.text(80, 24);
        for key in ["Enter/F2", "o/F6", "v/F9", "d/F8", "q/F10"] {
            assert!(t.contains(key), "{key} missing:\n{t}");
        }
    }
}

/// Issue 16 on a plain SIP account: a waiting call is a second row with its
/// caller (both fit at 80×24), answering it holds the first, swap follows
/// the live call, consult opens a number prompt, and the two-call keys are
/// in the hint bar only when they work.
#[test]
fn two_calls_are_two_rows_and_the_two_call_keys_show_only_when_they_work() {
    use tongdai::app::state::Caps;
    let on = |id: u64, event: CallEvent| Event::Call {
        call: CallId(id),
        event,
    };
    let hints = |h: &H| {
        // The hint bar: the bottom lines, below the dial line.
        let t = h.text(120, 40);
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(2)..].join(" ")
    };
    let mut h = harness(Lang::En);
    h.app.state.caps = Caps::sip();
    h.ev(Event::Ready)
        .ev(Event::VoiceChannel(true))
        .ev(Event::Registration(RegState::Registered { expires: 600 }));
    h.ring().ev(on(1, CallEvent::Accepted));
    // One live call: consult is offered, swap, complete and merge are not.
    let bar = hints(&h);
    assert!(bar.contains("consult"), "{bar}");
    for gone in ["swap", "complete", "three-way", "cancel consult"] {
        assert!(!bar.contains(gone), "{gone} offered with one call: {bar}");
    }
    h.key("s");
    assert_eq!(h.take(), Vec::<Command>::new(), "no swap with one call");
    assert!(h.text(80, 24).contains("no call on hold to swap to"));
    h.key("<Esc>");

    // A second call waits: its own row, with its caller, the first still in call.
    second_ring(&mut h);
    let t = h.text(80, 24);
    assert!(t.contains("c1") && t.contains("0987654321"), "{t}");
    assert!(t.contains("▸c2") && t.contains("0911222333"), "{t}");
    h.snap("call_waiting");
    h.key("a");
    assert_eq!(
        h.take(),
        vec![Command::Accept {
            call: Some(CallId(2))
        }]
    );
    h.ev(on(1, CallEvent::Held(true)))
        .ev(on(2, CallEvent::Accepted));
    h.snap("two_calls_one_held");
    let bar = hints(&h);
    for shown in ["swap calls", "three-way"] {
        assert!(bar.contains(shown), "{shown} missing: {bar}");
    }
    assert!(!bar.contains("consult"), "consult with two calls: {bar}");
    for hidden in ["end three-way", "complete transfer"] {
        assert!(
            !bar.contains(hidden),
            "{hidden} outside a three-way call: {bar}"
        );
    }
    // Swap: the held call is named.
    h.key("s");
    assert_eq!(
        h.take(),
        vec![Command::Swap {
            call: Some(CallId(1))
        }]
    );
    h.ev(on(2, CallEvent::Held(true)))
        .ev(on(1, CallEvent::Held(false)));
    let t = h.text(80, 24);
    assert!(t.contains("▸c1"), "{t}");
    h.key("j");
    assert_eq!(h.take(), vec![Command::Merge]);
    // In the three-way call (both calls up, neither held): leave it by
    // handing the far ends to each other, or end it; merge is done.
    h.ev(on(2, CallEvent::Held(false)));
    let bar = hints(&h);
    for shown in ["end three-way", "complete transfer"] {
        assert!(bar.contains(shown), "{shown} missing: {bar}");
    }
    h.key("E");
    assert_eq!(h.take(), vec![Command::EndConference]);
    h.key("x");
    assert_eq!(h.take(), vec![Command::CompleteTransfer]);
    assert!(
        !bar.contains("j three-way"),
        "no merge in a three-way call: {bar}"
    );

    // Back to one call; consult asks for the number.
    h.ev(on(2, CallEvent::Ended(EndReason::RemoteHangup)));
    h.key("k");
    assert!(h.text(80, 24).contains("Consult a colleague"));
    h.keys("1003").key("<Enter>");
    assert_eq!(h.take(), vec![Command::Consult("1003".into())]);
    h.ev(on(1, CallEvent::Held(true)))
        .ev(on(3, CallEvent::Dialing("1003".into())))
        .ev(on(3, CallEvent::ConsultFor(CallId(1))))
        .ev(on(3, CallEvent::CustomerAnswered));
    h.snap("consulting");
    let bar = hints(&h);
    for shown in ["complete transfer", "cancel consult"] {
        assert!(bar.contains(shown), "{shown} missing: {bar}");
    }
    h.key("x");
    assert_eq!(h.take(), vec![Command::CompleteTransfer]);
    h.key("z");
    assert_eq!(
        h.take(),
        vec![Command::End {
            call: Some(CallId(3))
        }]
    );
}

/// The VCC platform has no consult or swap: the keys are never offered,
/// and pressing one says why.
#[test]
fn vcc_offers_no_two_call_keys() {
    use tongdai::app::state::Caps;
    let mut h = harness(Lang::Vi);
    h.app.state.caps = Caps::vcc(Vec::new());
    h.ready().ring().ev(Event::Call {
        call: CallId(1),
        event: CallEvent::Accepted,
    });
    let t = h.text(120, 40);
    assert!(!t.contains("tham vấn"), "{t}");
    h.key("k");
    assert_eq!(h.take(), Vec::<Command>::new());
    assert!(
        h.text(120, 40).contains("tổng đài không hỗ trợ"),
        "{}",
        h.text(120, 40)
    );
}
