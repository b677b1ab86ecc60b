//! Every word the console shows, in English and Vietnamese, in one place.
//! The call-out error table and `IPCCERR` texts live in `call::errors`
//! (shared with the engine); everything else is here.

pub use crate::call::errors::Lang;
use crate::call::errors::{callout_notice, internal_call_notice, ipcc_error_text};
use crate::engine::{
    Availability, Device, Direction, EndReason, HistoryNotice, Info, InitFailure, InitStep, NotNow,
    Notice, RegState, TransferDetail,
};

use super::action::Action;
use super::keymap::Condition;

/// Fixed texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    AppTagline,
    Call,
    Agent,
    Customer,
    Activity,
    Idle,
    IdleHint,
    IncomingCall,
    AgentLegRinging,
    Dialing,
    CustomerRinging,
    InCall,
    OnHold,
    Muted,
    Number,
    Name,
    CallId,
    Time,
    Direction,
    LastCall,
    Hotline,
    Ivr,
    RecentCalls,
    NoRecentCalls,
    ThisSession,
    Status,
    Voice,
    VoiceHere,
    VoiceUnknown,
    Link,
    Sip,
    Device,
    Connecting,
    Connected,
    Disconnected,
    Dial,
    DialPlaceholder,
    DialEditing,
    CustomerNumber,
    Extension,
    SipAddress,
    Help,
    HelpClose,
    HelpDigits,
    HelpAlways,
    DevicePrompt,
    MobilePrompt,
    Transfer,
    Consult,
    TransferAgentTab,
    TransferQueueTab,
    TransferNumberTab,
    TransferLoading,
    TransferNoAgents,
    TransferKeys,
    TransferQueueHint,
    OfferKeys,
    QuitConfirm,
    Closing,
    NotConfigured,
    NotConfiguredWrite,
    NotConfiguredPassword,
    NotConfiguredDemo,
    NotConfiguredPath,
    Demo,
    DtmfSent,
    Quality,
    PromptKeys,
    MobileInvalid,
    EngineBusy,
    EngineStopped,
    ShowingTheme,
    NoCall,
    Company,
    Tags,
    Notes,
    FirstCall,
    CrmLooking,
    CrmNotFound,
    WrapUp,
    WrapUpPrompt,
    WrapUpKeys,
    NoteSaved,
    History,
    HistoryToday,
    HistoryLoading,
    HistoryEmpty,
    HistoryNoMatch,
    HistoryKeys,
    HistoryFilter,
    NoteEditKeys,
    HistoryOff,
    Mic,
    Speaker,
    FirstCallTo,
}

pub fn t(lang: Lang, key: T) -> &'static str {
    let (en, vi) = match key {
        T::AppTagline => ("call console", "tổng đài viên"),
        T::Call => ("Call", "Cuộc gọi"),
        T::Agent => ("Agent", "Điện thoại viên"),
        T::Customer => ("Customer", "Khách hàng"),
        T::Activity => ("Activity", "Hoạt động"),
        T::Idle => ("No call", "Không có cuộc gọi"),
        T::IdleHint => (
            "Type a number and press Enter to call.",
            "Nhập số rồi nhấn Enter để gọi.",
        ),
        T::IncomingCall => ("Incoming call", "Cuộc gọi đến"),
        T::AgentLegRinging => (
            "Your phone rings for your call-out",
            "Máy của bạn đổ chuông cho cuộc gọi ra",
        ),
        T::Dialing => ("Dialing", "Đang quay số"),
        T::CustomerRinging => ("Customer ringing", "Đang đổ chuông khách hàng"),
        T::InCall => ("In call", "Đang đàm thoại"),
        T::OnHold => ("On hold", "Đang giữ máy"),
        T::Muted => ("Muted", "Đã tắt tiếng"),
        T::Number => ("Number", "Số"),
        T::Name => ("Name", "Tên"),
        T::CallId => ("Call id", "Mã cuộc gọi"),
        T::Time => ("Time", "Thời gian"),
        T::Direction => ("Direction", "Chiều"),
        T::LastCall => ("Last call", "Cuộc gọi trước"),
        T::Hotline => ("Hotline", "Đầu số"),
        T::Ivr => ("IVR", "Nhánh IVR"),
        T::RecentCalls => ("Recent calls", "Cuộc gọi gần đây"),
        T::NoRecentCalls => ("none", "chưa có"),
        T::ThisSession => ("this session", "phiên này"),
        T::Status => ("Status", "Trạng thái"),
        T::Voice => ("Voice", "Kênh thoại"),
        T::VoiceHere => ("here, on this console", "tại console này"),
        T::VoiceUnknown => ("not known yet", "chưa rõ"),
        T::Link => ("Link", "Kết nối"),
        T::Sip => ("SIP", "SIP"),
        T::Device => ("Device", "Thiết bị"),
        T::Connecting => ("connecting…", "đang kết nối…"),
        T::Connected => ("connected", "đã kết nối"),
        T::Disconnected => ("disconnected", "mất kết nối"),
        T::Dial => ("Dial", "Gọi"),
        T::DialPlaceholder => ("type a number", "nhập số"),
        T::DialEditing => (
            "typing an address: Enter calls, Esc leaves",
            "đang nhập địa chỉ: Enter để gọi, Esc để thoát",
        ),
        T::CustomerNumber => ("customer number", "số khách hàng"),
        T::Extension => ("internal extension", "số nội bộ"),
        T::SipAddress => ("SIP address", "địa chỉ SIP"),
        T::Help => ("Keys", "Phím tắt"),
        T::HelpClose => ("Esc, q or ? closes", "Esc, q hoặc ? để đóng"),
        T::HelpDigits => (
            "0–9 * # +: dial line when idle, DTMF in a call; Bksp deletes",
            "0–9 * # +: ô quay số khi rảnh, DTMF khi đang gọi; Bksp để xoá",
        ),
        T::HelpAlways => ("always", "luôn"),
        T::DevicePrompt => (
            "Where should your calls ring? Press 1–4, Esc cancels",
            "Cuộc gọi đổ chuông ở đâu? Nhấn 1–4, Esc để huỷ",
        ),
        T::MobilePrompt => (
            "Mobile number (Enter confirms, Esc cancels)",
            "Số di động (Enter để xác nhận, Esc để huỷ)",
        ),
        T::Transfer => ("Transfer", "Chuyển cuộc gọi"),
        T::Consult => ("Consult a colleague", "Tham vấn đồng nghiệp"),
        T::TransferAgentTab => ("Agent", "Điện thoại viên"),
        T::TransferQueueTab => ("Queue", "Hàng đợi"),
        T::TransferNumberTab => ("Number", "Số"),
        T::TransferLoading => ("loading the agents…", "đang tải danh sách…"),
        T::TransferNoAgents => ("no agent is available", "không có điện thoại viên sẵn sàng"),
        T::TransferKeys => (
            "Tab switches · ↑↓ choose · Enter transfers · Esc cancels",
            "Tab để đổi · ↑↓ để chọn · Enter để chuyển · Esc để huỷ",
        ),
        T::TransferQueueHint => ("queue id", "mã hàng đợi"),
        T::OfferKeys => ("accept", "nhận"),
        T::QuitConfirm => (
            "A call is up. Hang up and quit? y / n",
            "Đang có cuộc gọi. Gác máy và thoát? y / n",
        ),
        T::Closing => ("closing…", "đang thoát…"),
        T::NotConfigured => ("No account is configured", "Chưa cấu hình tài khoản"),
        T::NotConfiguredWrite => (
            "To use a SIP account, write this to",
            "Để dùng tài khoản SIP, ghi vào tệp",
        ),
        T::NotConfiguredPassword => (
            "and put the password in TONGDAI_SIP_PASSWORD (or a mode-600 file named by sip.password_file).",
            "và đặt mật khẩu trong biến TONGDAI_SIP_PASSWORD (hoặc tệp chế độ 600 ghi ở sip.password_file).",
        ),
        T::NotConfiguredDemo => (
            "Or try the local switchboard: tongdai demo",
            "Hoặc thử tổng đài giả lập: tongdai demo",
        ),
        T::NotConfiguredPath => ("(or pass --config FILE)", "(hoặc dùng --config TỆP)"),
        T::Demo => ("demo: local switchboard", "demo: tổng đài giả lập"),
        T::DtmfSent => ("DTMF", "DTMF"),
        T::Quality => ("Quality", "Chất lượng"),
        T::PromptKeys => (
            "Enter confirms · Esc cancels",
            "Enter để xác nhận · Esc để huỷ",
        ),
        T::MobileInvalid => (
            "a mobile number has 8–13 digits",
            "số di động có 8–13 chữ số",
        ),
        T::EngineBusy => (
            "The engine is busy: the key was not sent",
            "Bộ xử lý đang bận: phím chưa được gửi",
        ),
        T::EngineStopped => ("The engine has stopped", "Bộ xử lý đã dừng"),
        T::ShowingTheme => ("Theme", "Giao diện"),
        T::NoCall => ("not in a call", "không có cuộc gọi"),
        T::Company => ("Company", "Công ty"),
        T::Tags => ("Tags", "Nhãn"),
        T::Notes => ("Notes", "Ghi chú"),
        T::FirstCall => ("first call from this number", "lần đầu số này gọi đến"),
        T::FirstCallTo => ("first call to this number", "lần đầu gọi tới số này"),
        T::CrmLooking => ("looking up in CRM…", "đang tra cứu CRM…"),
        T::CrmNotFound => ("not in the CRM", "không có trong CRM"),
        T::WrapUp => ("Wrap-up note", "Ghi chú sau cuộc gọi"),
        T::WrapUpPrompt => ("Note on the call with", "Ghi chú cho cuộc gọi với"),
        T::WrapUpKeys => ("Enter saves · Esc skips", "Enter để lưu · Esc để bỏ qua"),
        T::NoteSaved => ("Note saved", "Đã lưu ghi chú"),
        T::History => ("History", "Lịch sử"),
        T::HistoryToday => ("Today's calls", "Cuộc gọi hôm nay"),
        T::HistoryLoading => ("loading…", "đang tải…"),
        T::HistoryEmpty => ("no calls today", "hôm nay chưa có cuộc gọi"),
        T::HistoryNoMatch => ("no call matches", "không có cuộc gọi khớp"),
        T::HistoryKeys => (
            "↑↓ choose · Enter call back · n note · / filter · Esc closes",
            "↑↓ để chọn · Enter gọi lại · n ghi chú · / lọc · Esc để đóng",
        ),
        T::HistoryFilter => ("number", "số"),
        T::HistoryOff => (
            "Call history is off in this session",
            "Lịch sử cuộc gọi đang tắt trong phiên này",
        ),
        T::Mic => ("mic", "mic"),
        T::Speaker => ("spk", "loa"),
        T::NoteEditKeys => (
            "editing the note: Enter saves · Esc cancels",
            "đang sửa ghi chú: Enter để lưu · Esc để huỷ",
        ),
    };
    if lang == Lang::Vi { vi } else { en }
}

/// What an action does, for hints and help.
pub fn action(lang: Lang, a: Action) -> &'static str {
    let (en, vi) = match a {
        Action::Answer => ("answer", "trả lời"),
        Action::Reject => ("reject", "từ chối"),
        Action::End => ("hang up", "gác máy"),
        Action::Hold => ("hold", "giữ máy"),
        Action::Mute => ("mute", "tắt tiếng"),
        Action::Dial => ("call", "gọi"),
        Action::DialEdit => ("type tel:/sip:", "nhập tel:/sip:"),
        Action::Clear => ("clear", "xoá"),
        Action::Availability => ("On/Off", "Bật/Tắt"),
        Action::ClaimVoice => ("take voice here", "nhận thoại về đây"),
        Action::Device => ("device", "thiết bị"),
        Action::Transfer => ("transfer", "chuyển"),
        Action::Swap => ("swap calls", "đổi cuộc gọi"),
        Action::Consult => ("consult", "tham vấn"),
        Action::CompleteTransfer => ("complete transfer", "hoàn tất chuyển"),
        Action::CancelConsult => ("cancel consult", "huỷ tham vấn"),
        Action::Merge => ("three-way", "gọi ba bên"),
        Action::EndConference => ("end three-way", "kết thúc gọi ba bên"),
        Action::AcceptTransfer => ("accept transfer", "nhận cuộc chuyển"),
        Action::RefuseTransfer => ("refuse transfer", "từ chối cuộc chuyển"),
        Action::Connect => ("reconnect", "kết nối lại"),
        Action::History => ("history", "lịch sử"),
        Action::Help => ("help", "trợ giúp"),
        Action::Theme => ("theme", "giao diện"),
        Action::Language => ("English", "Tiếng Việt"),
        Action::Quit => ("quit", "thoát"),
        Action::None => ("nothing", "không làm gì"),
    };
    if a == Action::Language {
        // Name the language the key switches *to*.
        return if lang == Lang::Vi { en } else { vi };
    }
    if lang == Lang::Vi { vi } else { en }
}

/// The words for the state-dependent actions (hold → resume).
pub fn action_in_state(lang: Lang, a: Action, held: bool, muted: bool) -> &'static str {
    match (a, held, muted, lang) {
        (Action::Hold, true, _, Lang::En) => "resume",
        (Action::Hold, true, _, Lang::Vi) => "tiếp tục",
        (Action::Mute, _, true, Lang::En) => "unmute",
        (Action::Mute, _, true, Lang::Vi) => "bật tiếng",
        _ => action(lang, a),
    }
}

/// A history row's outcome.
pub fn outcome(lang: Lang, o: crate::store::Outcome) -> &'static str {
    use crate::store::Outcome;
    let (en, vi) = match o {
        Outcome::InProgress => ("in progress", "đang diễn ra"),
        Outcome::Interrupted => ("interrupted", "bị gián đoạn"),
        Outcome::Answered => ("answered", "đã nghe"),
        Outcome::Missed => ("missed", "gọi nhỡ"),
        Outcome::Rejected => ("rejected", "đã từ chối"),
        Outcome::AnsweredElsewhere => ("answered elsewhere", "đã nghe ở nơi khác"),
        Outcome::NotAnswered => ("not answered", "không nghe máy"),
        Outcome::Transferred => ("transferred", "đã chuyển"),
    };
    if lang == Lang::Vi { vi } else { en }
}

/// The popup's CRM failure line: "CRM unavailable: <reason>". The reason
/// is the error's own text (it never holds the token).
pub fn crm_unavailable(lang: Lang, e: &crate::crm::CrmError) -> String {
    use crate::crm::CrmError;
    let reason = match (e, lang) {
        (CrmError::Timeout { timeout_ms }, Lang::En) => format!("no answer within {timeout_ms} ms"),
        (CrmError::Timeout { timeout_ms }, Lang::Vi) => {
            format!("không trả lời trong {timeout_ms} ms")
        }
        (CrmError::Status { status }, _) => format!("HTTP {status}"),
        (CrmError::MalformedJson { detail }, Lang::En) => {
            format!(
                "the answer is not the JSON expected{}",
                quoted(lang, Source::Detail, detail)
            )
        }
        (CrmError::MalformedJson { detail }, Lang::Vi) => {
            format!(
                "dữ liệu trả về không đúng dạng JSON{}",
                quoted(lang, Source::Detail, detail)
            )
        }
        (CrmError::Unreachable { detail }, Lang::En) => {
            format!("cannot reach it{}", quoted(lang, Source::System, detail))
        }
        (CrmError::Unreachable { detail }, Lang::Vi) => {
            format!("không kết nối được{}", quoted(lang, Source::System, detail))
        }
        (CrmError::Config(d), Lang::En) => {
            format!(
                "check [crm] in the config{}",
                quoted(lang, Source::Detail, d)
            )
        }
        (CrmError::Config(d), Lang::Vi) => {
            format!(
                "kiểm tra mục [crm] trong cấu hình{}",
                quoted(lang, Source::Detail, d)
            )
        }
        (CrmError::Token(d), Lang::En) => {
            format!(
                "the token cannot be read{}",
                quoted(lang, Source::Detail, d)
            )
        }
        (CrmError::Token(d), Lang::Vi) => {
            format!(
                "không đọc được mã truy cập{}",
                quoted(lang, Source::Detail, d)
            )
        }
    };
    match lang {
        Lang::En => format!("CRM unavailable: {reason}"),
        Lang::Vi => format!("CRM không dùng được: {reason}"),
    }
}

/// "Note not saved — system: “<why>”".
pub fn note_not_saved(lang: Lang, why: &str) -> String {
    let why = quoted(lang, Source::System, why);
    match lang {
        Lang::En => format!("Note not saved{why}"),
        Lang::Vi => format!("Chưa lưu được ghi chú{why}"),
    }
}

/// "History not loaded — system: “<why>”".
pub fn history_failed(lang: Lang, why: &str) -> String {
    let why = quoted(lang, Source::System, why);
    match lang {
        Lang::En => format!("History not loaded{why}"),
        Lang::Vi => format!("Không tải được lịch sử{why}"),
    }
}

/// A notice or activity line, worded at view time (so `L` re-renders it).
pub fn notice_text(lang: Lang, n: &crate::app::state::NoticeText) -> String {
    use crate::app::state::NoticeText as N;
    match n {
        N::Fixed(k) => t(lang, *k).to_string(),
        N::Engine(e) => notice(lang, e),
        N::CalloutFailed {
            error_code,
            sip_code,
        } => callout_notice(error_code.as_deref(), *sip_code, lang),
        N::InternalCallFailed { number, sip_code } => internal_call_notice(number, *sip_code, lang),
        N::Transfer { ok, detail } => transfer_result(lang, *ok, detail),
        N::InitFailed(f) => init_failed(lang, f),
        N::CallEnded { number, reason } => format!(
            "{} {number} · {}",
            t(lang, T::LastCall),
            end_reason(lang, reason)
        ),
        N::BadDial(e) => notice(lang, &Notice::BadNumber(dial_error(lang, e))),
        N::OfferExpired => offer_expired(lang).to_string(),
        N::Theme(name) => format!("{}: {name}", t(lang, T::ShowingTheme)),
        N::NoteNotSaved(why) => note_not_saved(lang, why),
        N::Crm(e) => crm_unavailable(lang, e),
        N::MissingAccount(kind) => missing_account(lang, *kind),
        N::RingBehindFocus { keys } => ring_behind_focus(lang, keys.as_deref()),
        N::NoAnswerSet { keys } => no_answer_set(lang, keys),
        N::Plain(text) => text.clone(),
    }
}

/// `backend = "sip"` (or `"vcc"`) with no such section.
pub fn missing_account(lang: Lang, kind: crate::config::BackendKind) -> String {
    let name = kind.name();
    match lang {
        Lang::En => format!(
            "backend = \"{name}\" needs a [{name}] section in the config file: the screen above shows what to write"
        ),
        Lang::Vi => format!(
            "backend = \"{name}\" cần mục [{name}] trong tệp cấu hình: xem hướng dẫn ở trên"
        ),
    }
}

/// The header's banner.
pub fn banner(lang: Lang, b: &crate::app::state::Banner) -> String {
    use crate::app::state::Banner;
    match (b, lang) {
        (Banner::Demo { addr, agent }, Lang::En) => {
            format!("demo: local switchboard {addr} · {agent}")
        }
        (Banner::Demo { addr, agent }, Lang::Vi) => {
            format!("chạy thử: tổng đài giả lập {addr} · {agent}")
        }
        (Banner::Scripted, Lang::En) => "scripted screen".into(),
        (Banner::Scripted, Lang::Vi) => "màn hình mẫu".into(),
    }
}

pub fn condition(lang: Lang, c: Option<Condition>) -> &'static str {
    let (en, vi) = match c {
        None => ("always", "luôn"),
        Some(Condition::Idle) => ("idle", "khi rảnh"),
        Some(Condition::Ringing) => ("ringing", "khi đổ chuông"),
        Some(Condition::Dialing) => ("dialing", "khi gọi ra"),
        Some(Condition::InCall) => ("in a call", "khi đàm thoại"),
        Some(Condition::Call) => ("any call", "mọi cuộc gọi"),
        Some(Condition::Offer) => ("transfer offered", "khi được chuyển"),
    };
    if lang == Lang::Vi { vi } else { en }
}

pub fn direction(lang: Lang, d: Direction) -> &'static str {
    match (d, lang) {
        (Direction::Inbound, Lang::En) => "inbound",
        (Direction::Inbound, Lang::Vi) => "gọi vào",
        (Direction::Outbound, Lang::En) => "outbound",
        (Direction::Outbound, Lang::Vi) => "gọi ra",
        (Direction::Internal, Lang::En) => "internal",
        (Direction::Internal, Lang::Vi) => "nội bộ",
    }
}

pub fn availability(lang: Lang, a: Availability) -> &'static str {
    match (a, lang) {
        (Availability::On, Lang::En) => "On",
        (Availability::On, Lang::Vi) => "Bật",
        (Availability::Off, Lang::En) => "Off",
        (Availability::Off, Lang::Vi) => "Tắt",
        (Availability::NoAnswer, Lang::En) => "No Answer",
        (Availability::NoAnswer, Lang::Vi) => "Không nghe máy",
    }
}

pub fn device(lang: Lang, d: &Device) -> String {
    let vi = lang == Lang::Vi;
    match d {
        Device::Console => if vi {
            "1 · console này"
        } else {
            "1 · this console"
        }
        .into(),
        Device::IpPhone => "2 · IP phone / softphone".into(),
        Device::Mobile { number } if number.is_empty() => if vi {
            "3 · điện thoại di động"
        } else {
            "3 · mobile phone"
        }
        .into(),
        Device::Mobile { number } => {
            if vi {
                format!("3 · di động {number}")
            } else {
                format!("3 · mobile {number}")
            }
        }
        Device::AlwaysOnIpPhone => if vi {
            "4 · IP phone luôn bật"
        } else {
            "4 · always-on IP phone"
        }
        .into(),
        Device::Other { code } => {
            if vi {
                format!("{code} · thiết bị khác")
            } else {
                format!("{code} · other device")
            }
        }
    }
}

/// The device chooser's four rows.
pub fn device_choices(lang: Lang) -> [String; 4] {
    let vi = lang == Lang::Vi;
    [
        if vi {
            "1  console này (âm thanh của máy tính)"
        } else {
            "1  this console (this computer's audio)"
        }
        .into(),
        if vi {
            "2  IP phone / softphone (khi đăng nhập)"
        } else {
            "2  IP phone / softphone (while logged in)"
        }
        .into(),
        if vi {
            "3  điện thoại di động…"
        } else {
            "3  mobile phone…"
        }
        .into(),
        if vi {
            "4  IP phone luôn bật"
        } else {
            "4  always-on IP phone"
        }
        .into(),
    ]
}

/// The one line shown when the terminal is too small for the console.
pub fn too_small(lang: Lang, w: u16, h: u16) -> String {
    match lang {
        Lang::En => format!("Enlarge the terminal to at least {w}×{h}"),
        Lang::Vi => format!("Hãy mở rộng cửa sổ terminal tối thiểu {w}×{h}"),
    }
}

pub fn voice_elsewhere(lang: Lang, key: &str) -> String {
    match lang {
        Lang::En => format!("in use elsewhere: press {key} to take it here"),
        Lang::Vi => format!("đang dùng ở nơi khác: nhấn {key} để nhận về đây"),
    }
}

pub fn reconnecting(lang: Lang, attempt: u32, max: u32) -> String {
    match lang {
        Lang::En => format!("reconnecting {attempt}/{max}…"),
        Lang::Vi => format!("đang kết nối lại {attempt}/{max}…"),
    }
}

pub fn init_failed(lang: Lang, f: &InitFailure) -> String {
    let vi = lang == Lang::Vi;
    let (what, src) = match &f.step {
        InitStep::Credentials => (
            if vi {
                "không dùng được thông tin đăng nhập"
            } else {
                "the credentials cannot be used"
            }
            .to_string(),
            Source::System,
        ),
        InitStep::Unreachable => (
            if vi {
                "không kết nối được tới tổng đài"
            } else {
                "cannot reach the platform"
            }
            .to_string(),
            Source::System,
        ),
        InitStep::Refused => (
            if vi {
                "tổng đài từ chối đăng nhập"
            } else {
                "the platform refused the login"
            }
            .to_string(),
            Source::Platform,
        ),
        InitStep::HttpStatus { status } => (
            if vi {
                format!("tổng đài trả lời lỗi HTTP {status}")
            } else {
                format!("the platform answered HTTP {status}")
            },
            Source::Platform,
        ),
        InitStep::BadReply => (
            if vi {
                "câu trả lời của tổng đài không đúng dạng"
            } else {
                "the platform's answer is not in the expected form"
            }
            .to_string(),
            Source::Detail,
        ),
        InitStep::PushClosed => (
            if vi {
                "kết nối bị đóng trước khi đăng nhập"
            } else {
                "the connection closed before login"
            }
            .to_string(),
            Source::System,
        ),
        InitStep::Config => (
            if vi {
                "cấu hình tài khoản chưa đúng"
            } else {
                "the account's configuration is wrong"
            }
            .to_string(),
            Source::Detail,
        ),
        InitStep::Start => (
            if vi {
                "không khởi động được"
            } else {
                "cannot start"
            }
            .to_string(),
            Source::System,
        ),
    };
    let head = if vi { "lỗi" } else { "failed" };
    format!("{head}: {what}{}", quoted(lang, src, &f.detail))
}

/// Who said a verbatim text shown inside ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The VCC platform or the PBX.
    Platform,
    /// The operating system or a library.
    System,
    /// Technical detail.
    Detail,
}

/// ` — platform: “text”`: a text we cannot translate, labelled with who
/// said it and set in curly quotes (so the agent, and the language test,
/// know it is quoted as is). Empty text: nothing.
pub fn quoted(lang: Lang, src: Source, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let who = match (src, lang) {
        (Source::Platform, Lang::En) => "platform",
        (Source::Platform, Lang::Vi) => "tổng đài báo",
        (Source::System, Lang::En) => "system",
        (Source::System, Lang::Vi) => "hệ thống báo",
        (Source::Detail, Lang::En) => "detail",
        (Source::Detail, Lang::Vi) => "chi tiết",
    };
    format!(" — {who}: “{text}”")
}

pub fn registration(lang: Lang, r: &RegState) -> String {
    let vi = lang == Lang::Vi;
    match r {
        RegState::None => if vi {
            "không đăng ký"
        } else {
            "not registering"
        }
        .into(),
        RegState::Registering => if vi {
            "đang đăng ký…"
        } else {
            "registering…"
        }
        .into(),
        RegState::Registered { expires } => {
            if vi {
                format!("đã đăng ký ({expires} giây)")
            } else {
                format!("registered ({expires} s)")
            }
        }
        RegState::Failed { code, reason } => {
            let code = code.map(|c| format!("{c} ")).unwrap_or_default();
            if vi {
                format!("đăng ký lỗi: {code}{reason}")
            } else {
                format!("failed: {code}{reason}")
            }
        }
        RegState::Retrying {
            attempt,
            retry_in_s,
        } => {
            if vi {
                format!("thử lại lần {attempt} sau {retry_in_s} giây")
            } else {
                format!("retry {attempt} in {retry_in_s} s")
            }
        }
    }
}

pub fn end_reason(lang: Lang, r: &EndReason) -> String {
    let vi = lang == Lang::Vi;
    match r {
        EndReason::LocalHangup => if vi {
            "bạn đã gác máy"
        } else {
            "you hung up"
        }
        .into(),
        EndReason::RemoteHangup => if vi {
            "bên kia đã gác máy"
        } else {
            "the other side hung up"
        }
        .into(),
        EndReason::Cancelled => if vi {
            "đã huỷ (cuộc gọi nhỡ)"
        } else {
            "cancelled (missed)"
        }
        .into(),
        EndReason::Busy => if vi { "máy bận" } else { "busy" }.into(),
        EndReason::NoAnswer => if vi {
            "không trả lời"
        } else {
            "no answer"
        }
        .into(),
        EndReason::Rejected { code } => {
            if vi {
                format!("đã từ chối (SIP {code})")
            } else {
                format!("rejected (SIP {code})")
            }
        }
        EndReason::Failed {
            error_code,
            sip_code,
        } => callout_notice(error_code.as_deref(), *sip_code, lang),
        EndReason::Timeout => if vi {
            "hết thời gian chờ"
        } else {
            "timed out"
        }
        .into(),
        EndReason::TransportLost => if vi {
            "mất kết nối"
        } else {
            "connection lost"
        }
        .into(),
        EndReason::AnsweredElsewhere => if vi {
            "đã được trả lời ở nơi khác"
        } else {
            "answered elsewhere"
        }
        .into(),
        EndReason::Transferred { target } => {
            if vi {
                format!("đã chuyển cho {target}")
            } else {
                format!("transferred to {target}")
            }
        }
    }
}

pub fn notice(lang: Lang, n: &Notice) -> String {
    let vi = lang == Lang::Vi;
    match n {
        Notice::IpccError(code) => ipcc_error_text(code, lang),
        Notice::AvailabilityRefused => if vi {
            "Máy chủ từ chối đổi Bật/Tắt"
        } else {
            "The server refused the On/Off change"
        }
        .into(),
        Notice::DeviceChangeRefused => if vi {
            "Máy chủ từ chối đổi thiết bị; giữ thiết bị cũ"
        } else {
            "The server refused the device change; the old device is kept"
        }
        .into(),
        Notice::NotNow(why) => {
            if vi {
                format!("Chưa thể: {}", not_now(lang, *why))
            } else {
                format!("Not now: {}", not_now(lang, *why))
            }
        }
        Notice::BadNumber(n) => {
            if vi {
                format!("Không gọi được số này: {n}")
            } else {
                format!("Not a number we can call: {n}")
            }
        }
        Notice::InsecureTls => if vi {
            "KHÔNG kiểm tra chứng chỉ TLS của tài khoản này (chỉ dùng thử nghiệm)"
        } else {
            "TLS certificates are NOT verified for this account (lab use only)"
        }
        .into(),
        Notice::Server(s) => {
            let head = if vi {
                "Tin từ tổng đài"
            } else {
                "From the platform"
            };
            format!("{head}{}", quoted(lang, Source::Platform, s))
        }
        Notice::Info(i) => info(lang, i),
        Notice::History(h) => history_notice(vi, h),
        Notice::UnknownCall(id) => {
            if vi {
                format!("Không có cuộc gọi {id} (có thể đã kết thúc)")
            } else {
                format!("There is no call {id} (it may have ended)")
            }
        }
    }
}

fn history_notice(vi: bool, h: &HistoryNotice) -> String {
    match h {
        HistoryNotice::Recovered { moved_to } => {
            if vi {
                format!(
                    "Tệp lịch sử cuộc gọi bị hỏng: đã chuyển sang {moved_to}; đã tạo tệp mới, cuộc gọi vẫn được ghi"
                )
            } else {
                format!(
                    "The call history file was damaged: moved to {moved_to}; a new one was started and calls are recorded"
                )
            }
        }
        HistoryNotice::Locked => if vi {
            "Lịch sử cuộc gọi đang bị chương trình khác khóa; cuộc gọi được giữ lại và sẽ ghi khi hết khóa"
        } else {
            "The call history is locked by another program; calls are kept and written when it is free"
        }
        .into(),
        HistoryNotice::Full => if vi {
            "Ổ đĩa đã đầy, không ghi thêm được lịch sử cuộc gọi; cuộc gọi được giữ lại và sẽ ghi khi có chỗ trống"
        } else {
            "The disk is full and the call history cannot grow; calls are kept and written when there is room"
        }
        .into(),
        HistoryNotice::Unlocked => if vi {
            "Lịch sử cuộc gọi đã hết bị khóa; các cuộc gọi đang chờ đã được ghi"
        } else {
            "The call history is free again; the waiting calls were written"
        }
        .into(),
        HistoryNotice::Off { reason } => {
            if vi {
                format!("Lịch sử cuộc gọi bị tắt: {reason}")
            } else {
                format!("Call history is off: {reason}")
            }
        }
    }
}

/// Why a request cannot be done now.
pub fn not_now(lang: Lang, why: NotNow) -> &'static str {
    use NotNow::*;
    let (en, vi) = match why {
        NotConnected => ("not connected to the platform", "chưa kết nối tới tổng đài"),
        VoiceAlreadyHere => (
            "the voice channel is already on this console",
            "kênh thoại đã ở console này",
        ),
        VoiceElsewhere => (
            "the voice channel is on another console or tab: take it back first",
            "kênh thoại đang ở console hoặc tab khác: hãy nhận về trước",
        ),
        AvailabilityPending => (
            "waiting for the platform to confirm On/Off",
            "đang chờ tổng đài xác nhận Bật/Tắt",
        ),
        NoRinging => ("no call is ringing", "không có cuộc gọi nào đang đổ chuông"),
        NoOffer => (
            "no transfer is offered",
            "không có lời mời chuyển cuộc gọi nào",
        ),
        NotInCall => ("not in a call", "không có cuộc gọi"),
        AlreadyInCall => ("already in a call", "đang có cuộc gọi"),
        HoldOrEndFirst => (
            "already in a call: hold or end it first",
            "đang có cuộc gọi: hãy giữ máy hoặc gác máy trước",
        ),
        DtmfDigits => (
            "DTMF digits are 0–9, *, #, A–D",
            "phím DTMF chỉ gồm 0–9, *, #, A–D",
        ),
        DtmfOnPhone => (
            "on this device the call is on your phone: press the digits on the phone itself",
            "với thiết bị này cuộc gọi ở trên điện thoại: hãy bấm phím trên chính điện thoại",
        ),
        InternalFromPhone => (
            "on this device, dial internal numbers from your phone (the console dials them on device 1 only)",
            "với thiết bị này, hãy gọi số nội bộ từ điện thoại (console chỉ gọi số nội bộ ở thiết bị 1)",
        ),
        ConsoleAudioUnavailable => (
            "this call rings on the console's own audio, which is not available yet: answer it by changing device",
            "cuộc gọi đổ chuông trên âm thanh của console, hiện chưa dùng được: hãy đổi thiết bị để trả lời",
        ),
        AnswerOnPhone => (
            "answer on your phone: calls ring there on this device",
            "hãy trả lời trên điện thoại: với thiết bị này cuộc gọi đổ chuông ở đó",
        ),
        ResumeBeforeEnd => (
            "resume the call before ending it",
            "hãy tiếp tục cuộc gọi trước khi gác máy",
        ),
        ResumeBeforeMute => (
            "resume the call before muting it",
            "hãy tiếp tục cuộc gọi trước khi tắt tiếng",
        ),
        RequestPending => (
            "waiting for the platform to answer the last request",
            "đang chờ tổng đài trả lời yêu cầu trước",
        ),
        RingingNoHold => (
            "a ringing call cannot be held",
            "không thể giữ máy khi cuộc gọi đang đổ chuông",
        ),
        RingingNoMute => (
            "a ringing call cannot be muted",
            "không thể tắt tiếng khi cuộc gọi đang đổ chuông",
        ),
        MuteInboundOnly => (
            "the platform mutes inbound calls only",
            "tổng đài chỉ cho tắt tiếng cuộc gọi vào",
        ),
        DevicePending => (
            "waiting for the platform to confirm the last device change",
            "đang chờ tổng đài xác nhận lần đổi thiết bị trước",
        ),
        DeviceDuringCall => (
            "the device cannot change during a call",
            "không thể đổi thiết bị khi đang có cuộc gọi",
        ),
        TransferNeedsAnswer => (
            "only an answered call can be transferred",
            "chỉ chuyển được cuộc gọi đã trả lời",
        ),
        TransferAgentOrQueue => (
            "the platform transfers to an agent or a queue",
            "tổng đài chỉ chuyển cho điện thoại viên hoặc hàng đợi",
        ),
        NoControlPlane => (
            "a plain SIP account has no call-center control plane",
            "tài khoản SIP thường không có chức năng tổng đài này",
        ),
        NumbersOnly => (
            "the platform calls phone numbers and extensions, not sip: addresses",
            "tổng đài chỉ gọi số điện thoại và số nội bộ, không gọi địa chỉ sip:",
        ),
        PlatformLacks => (
            "the call-center platform does not offer this",
            "tổng đài không hỗ trợ chức năng này",
        ),
        NothingToSwap => (
            "no call on hold to swap to",
            "không có cuộc gọi đang giữ để chuyển qua",
        ),
        NoConsult => (
            "no consult call: consult a colleague first",
            "chưa có cuộc gọi tham vấn: hãy gọi đồng nghiệp trước",
        ),
        TwoCallsUp => (
            "two calls are up already: end one first",
            "đã có hai cuộc gọi: hãy kết thúc một cuộc trước",
        ),
        NeedTwoCalls => (
            "a three-way call needs two answered calls",
            "gọi ba bên cần hai cuộc gọi đã trả lời",
        ),
    };
    if lang == Lang::Vi { vi } else { en }
}

/// An engine's informational notice.
pub fn info(lang: Lang, i: &Info) -> String {
    let vi = lang == Lang::Vi;
    let pick = |en: &str, v: &str| if vi { v.to_string() } else { en.to_string() };
    match i {
        Info::EndingWhenNamed => pick(
            "ending the call as soon as the platform names it",
            "sẽ gác máy ngay khi tổng đài báo mã cuộc gọi",
        ),
        Info::VoiceNotGiven => pick(
            "the platform did not give the voice channel to this console",
            "tổng đài không chuyển kênh thoại về console này",
        ),
        Info::SupervisorEnded { agent } => {
            if vi {
                format!("giám sát viên {agent} đã kết thúc cuộc gọi")
            } else {
                format!("supervisor {agent} ended the call")
            }
        }
        Info::VoiceInUseElsewhere => pick(
            "the voice channel is in use on another console or tab: take it here with the take-voice key",
            "kênh thoại đang dùng ở console hoặc tab khác: dùng phím nhận thoại để nhận về đây",
        ),
        Info::VoiceMovedAway => pick(
            "the voice channel moved to another console or tab: take it back with the take-voice key",
            "kênh thoại đã chuyển sang console hoặc tab khác: dùng phím nhận thoại để nhận lại",
        ),
        Info::VoiceRetaken => pick(
            "reconnected: taking back the voice channel this console held",
            "đã kết nối lại: đang nhận lại kênh thoại của console này",
        ),
        Info::VoiceMovedSessionEnded => pick(
            "the voice channel moved to another console or tab: this session has ended",
            "kênh thoại đã chuyển sang console hoặc tab khác: phiên này đã kết thúc",
        ),
        Info::RingsWithoutAudio => pick(
            "this call rings on the console's own audio, which is not available yet: change device to take calls",
            "cuộc gọi đổ chuông trên âm thanh của console, hiện chưa dùng được: hãy đổi thiết bị để nhận cuộc gọi",
        ),
        Info::VoiceUnavailable { detail } => format!(
            "{}{}",
            pick(
                "the console's audio is not available",
                "âm thanh của console chưa dùng được"
            ),
            quoted(lang, Source::System, detail)
        ),
        Info::BusySecondCall { number } => {
            if vi {
                format!("đang bận: đã từ chối cuộc gọi thứ hai từ {number}")
            } else {
                format!("busy: rejected a second call from {number}")
            }
        }
        Info::BusyThirdCall { number } => {
            if vi {
                format!("đang có hai cuộc gọi: đã từ chối cuộc gọi thứ ba từ {number}")
            } else {
                format!("two calls up: rejected a third call from {number}")
            }
        }
        Info::TransferRefused { code } => {
            if vi {
                format!("chuyển cuộc gọi bị từ chối (SIP {code}): hai cuộc gọi vẫn giữ nguyên")
            } else {
                format!("the transfer was refused (SIP {code}): both calls stay as they were")
            }
        }
        Info::ReplacesFallback { code } => {
            if vi {
                format!(
                    "máy khách không nhận Replaces (SIP {code}): đã kết thúc cuộc tham vấn, chuyển khách thẳng tới đồng nghiệp"
                )
            } else {
                format!(
                    "Replaces not honoured (SIP {code}): ended the consult call, sending the customer to the colleague directly"
                )
            }
        }
        Info::Referred { target } => {
            if vi {
                format!("bên kia chuyển cuộc gọi: đang gọi {target}")
            } else {
                format!("the other party transferred the call: calling {target}")
            }
        }
        Info::CallReplaced { number } => {
            if vi {
                format!("cuộc gọi được chuyển tới: giờ đang nói chuyện với {number}")
            } else {
                format!("call transferred to you: now talking to {number}")
            }
        }
        Info::ConferenceUnavailable => pick(
            "these calls cannot be joined: one of them has no audio here",
            "không thể ghép các cuộc gọi này: một cuộc chưa có âm thanh ở đây",
        ),
        Info::RemoteHold { held: true } => {
            pick("the other party put the call on hold", "bên kia đã giữ máy")
        }
        Info::RemoteHold { held: false } => pick(
            "the other party resumed the call",
            "bên kia đã tiếp tục cuộc gọi",
        ),
        Info::HoldRefused { held: true } => pick(
            "the PBX refused to hold the call",
            "tổng đài từ chối giữ máy",
        ),
        Info::HoldRefused { held: false } => pick(
            "the PBX refused to resume the call",
            "tổng đài từ chối tiếp tục cuộc gọi",
        ),
        Info::TransferProgress { code } => {
            if vi {
                format!("đang chuyển cuộc gọi: SIP {code}")
            } else {
                format!("transferring: SIP {code}")
            }
        }
        Info::AudioDeviceLost { detail } => format!(
            "{}{}",
            pick(
                "the audio device went away; the call goes on without it",
                "mất thiết bị âm thanh; cuộc gọi vẫn tiếp tục nhưng không có tiếng"
            ),
            quoted(lang, Source::System, detail)
        ),
        Info::RecordingStopped { file, disk_full } => match (disk_full, vi) {
            (true, false) => {
                format!("the disk is full: recording to {file} stopped; the call goes on")
            }
            (true, true) => format!("ổ đĩa đầy: đã dừng ghi âm vào {file}; cuộc gọi vẫn tiếp tục"),
            (false, false) => {
                format!("recording to {file} stopped, the file cannot grow; the call goes on")
            }
            (false, true) => format!(
                "đã dừng ghi âm vào {file}, không ghi thêm được vào tệp; cuộc gọi vẫn tiếp tục"
            ),
        },
        Info::HistoryOff { detail } => format!(
            "{}{}",
            pick("call history is off", "lịch sử cuộc gọi đang tắt"),
            quoted(lang, Source::System, detail)
        ),
        Info::SoundsOff { detail } => format!(
            "{}{}",
            pick(
                "call sounds cannot be played",
                "không phát được âm báo cuộc gọi"
            ),
            quoted(lang, Source::System, detail)
        ),
        Info::SoundDeviceFailed { ring, detail } => format!(
            "{}{}",
            match (ring, vi) {
                (true, false) => "the ring device cannot be opened: no ringtone",
                (true, true) => "không mở được thiết bị đổ chuông: không có nhạc chuông",
                (false, false) => "the sound output cannot be opened: no call sounds",
                (false, true) => "không mở được loa: không có âm báo cuộc gọi",
            },
            quoted(lang, Source::System, detail)
        ),
        Info::SoundDeviceLost { ring, detail } => format!(
            "{}{}",
            match (ring, vi) {
                (true, false) => "the ring device went away: calls show on screen only",
                (true, true) => "mất thiết bị đổ chuông: cuộc gọi chỉ hiện trên màn hình",
                (false, false) => "the sound output went away: calls show on screen only",
                (false, true) => "mất loa: cuộc gọi chỉ hiện trên màn hình",
            },
            quoted(lang, Source::System, detail)
        ),
        Info::AnsweredOnDeskPhone => pick(
            "answered on your desk phone",
            "đã trả lời trên điện thoại bàn",
        ),
        Info::AnsweredOnMobile => pick(
            "answered on your mobile",
            "đã trả lời trên điện thoại di động",
        ),
        Info::SipProblem { detail } => format!(
            "{}{}",
            pick("SIP problem", "sự cố SIP"),
            quoted(lang, Source::Detail, detail)
        ),
    }
}

/// Why a platform transfer failed: the `IPCCERR` table, else its words.
fn transfer_status(lang: Lang, status: &str) -> String {
    if status.starts_with("IPCCERR") {
        format!(": {}", ipcc_error_text(status, lang))
    } else {
        quoted(lang, Source::Platform, status)
    }
}

pub fn transfer_result(lang: Lang, ok: bool, detail: &TransferDetail) -> String {
    let vi = lang == Lang::Vi;
    match detail {
        TransferDetail::OfferTimedOut => if vi {
            "Lời mời chuyển cuộc gọi không được trả lời kịp nên đã bị từ chối"
        } else {
            "The transfer offer was not answered in time and was refused"
        }
        .into(),
        TransferDetail::YouAccepted => if vi {
            "Bạn đã nhận cuộc gọi được chuyển"
        } else {
            "You accepted the transfer"
        }
        .into(),
        TransferDetail::YouRefused => if vi {
            "Bạn đã từ chối cuộc gọi được chuyển"
        } else {
            "You refused the transfer"
        }
        .into(),
        TransferDetail::ToAgent { agent } => {
            if vi {
                format!("Đã chuyển cuộc gọi cho {agent}")
            } else {
                format!("Transferred to {agent}")
            }
        }
        TransferDetail::ToAgentFailed { agent, status } => {
            let why = transfer_status(lang, status);
            if vi {
                format!("Chuyển cuộc gọi cho {agent} thất bại{why}")
            } else {
                format!("Transfer to {agent} failed{why}")
            }
        }
        TransferDetail::OtherAccepted => if vi {
            "Điện thoại viên kia đã nhận cuộc gọi"
        } else {
            "The other agent accepted the transfer"
        }
        .into(),
        TransferDetail::OtherRefused => if vi {
            "Điện thoại viên kia đã từ chối cuộc gọi"
        } else {
            "The other agent refused the transfer"
        }
        .into(),
        TransferDetail::ToQueue => if vi {
            "Đã chuyển cuộc gọi vào hàng đợi"
        } else {
            "Transferred to the queue"
        }
        .into(),
        TransferDetail::ToQueueFailed { status } => {
            let why = transfer_status(lang, status);
            if vi {
                format!("Chuyển cuộc gọi vào hàng đợi thất bại{why}")
            } else {
                format!("Transfer to the queue failed{why}")
            }
        }
        TransferDetail::Sip { code } => match (ok, vi) {
            (true, true) => format!("Đã chuyển cuộc gọi (SIP {code})"),
            (true, false) => format!("Transfer done (SIP {code})"),
            (false, true) => format!("Chuyển cuộc gọi thất bại (SIP {code})"),
            (false, false) => format!("Transfer failed (SIP {code})"),
        },
    }
}

/// An agent's status in the transfer list (`AVAILABLE / READY`): the
/// platform's known words in the agent's language, others as they are.
pub fn agent_status(lang: Lang, status: &str) -> String {
    let word = |w: &str| -> String {
        let (en, vi) = match w.trim().to_ascii_uppercase().as_str() {
            "AVAILABLE" => ("available", "sẵn sàng"),
            "NOT AVAILABLE" => ("not available", "không sẵn sàng"),
            "READY" => ("free", "đang rảnh"),
            "BUSY" | "TALKING" | "INCALL" | "IN CALL" => ("in a call", "đang gọi"),
            "RINGING" => ("ringing", "đang đổ chuông"),
            "NO ANSWER" | "NOANSWER" => ("no answer", "không nghe máy"),
            "OFFLINE" | "LOGOUT" => ("offline", "ngoại tuyến"),
            _ => return w.trim().to_string(),
        };
        if lang == Lang::Vi { vi } else { en }.to_string()
    };
    status
        .split(" / ")
        .map(word)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn offer(lang: Lang, from: &str, secs: u64) -> String {
    match lang {
        Lang::En => format!("{from} offers you a call: {secs} s to answer"),
        Lang::Vi => format!("{from} chuyển cho bạn một cuộc gọi: còn {secs} giây"),
    }
}

pub fn offer_expired(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "The transfer offer expired",
        Lang::Vi => "Lời mời chuyển cuộc gọi đã hết hạn",
    }
}

/// Dial-line validation errors.
pub fn dial_error(lang: Lang, e: &super::state::DialError) -> String {
    use super::state::DialError::*;
    let vi = lang == Lang::Vi;
    match e {
        Empty => if vi {
            "chưa nhập số"
        } else {
            "nothing to call"
        }
        .into(),
        BadChar(c) => {
            if vi {
                format!("ký tự không hợp lệ '{c}' (chỉ 0–9 * # +)")
            } else {
                format!("'{c}' is not allowed (only 0–9 * # +)")
            }
        }
        PlusNotFirst => if vi {
            "dấu + chỉ được ở đầu"
        } else {
            "+ may only come first"
        }
        .into(),
        TooLong(n) => {
            if vi {
                format!("quá dài: {n} chữ số (tối đa 13)")
            } else {
                format!("too long: {n} digits (at most 13)")
            }
        }
        ShortWithPlus => if vi {
            "số có + phải có 8–13 chữ số"
        } else {
            "a number with + needs 8–13 digits"
        }
        .into(),
        Control(c) => {
            let code = u32::from(*c);
            if vi {
                format!("có ký tự điều khiển U+{code:04X} (không được phép)")
            } else {
                format!("holds the control character U+{code:04X} (not allowed)")
            }
        }
        BadUri(e) => {
            let why = uri_error(lang, e);
            if vi {
                format!("địa chỉ sip: không hợp lệ: {why}")
            } else {
                format!("not a valid sip: address: {why}")
            }
        }
    }
}

/// Why a `sip:` address was refused (`sip::target::UriError`).
pub fn uri_error(lang: Lang, e: &crate::sip::target::UriError) -> String {
    use crate::sip::target::UriError::*;
    let vi = lang == Lang::Vi;
    match e {
        Empty => if vi {
            "không có gì sau sip:"
        } else {
            "nothing after sip:"
        }
        .into(),
        Whitespace => if vi {
            "có khoảng trắng bên trong"
        } else {
            "it holds a space"
        }
        .into(),
        Headers => if vi {
            "không được có phần header '?…'"
        } else {
            "URI headers ('?…') are not allowed"
        }
        .into(),
        Password => if vi {
            "không được có mật khẩu (user:mật-khẩu@)"
        } else {
            "a password (user:password@) is not allowed"
        }
        .into(),
        UserChar(c) => {
            if vi {
                format!("ký tự '{c}' không được có trong phần người dùng")
            } else {
                format!("'{c}' is not allowed in the user part")
            }
        }
        Escape => if vi {
            "mã %HH sai hoặc mã hoá ký tự điều khiển"
        } else {
            "a bad %HH escape, or an escaped control character"
        }
        .into(),
        NoHost => if vi {
            "thiếu tên máy sau @"
        } else {
            "no host after @"
        }
        .into(),
        Host => if vi {
            "tên máy không hợp lệ"
        } else {
            "the host is not a valid name or address"
        }
        .into(),
        Port => if vi {
            "cổng phải từ 1 đến 65535"
        } else {
            "the port must be 1-65535"
        }
        .into(),
        ParamChar(c) => {
            if vi {
                format!("tham số ;… không hợp lệ (ký tự '{c}')")
            } else {
                format!("a bad ;parameter (character '{c}')")
            }
        }
        NotAscii(c) => {
            if vi {
                format!("ký tự '{c}' không phải ASCII")
            } else {
                format!("'{c}' is not ASCII")
            }
        }
    }
}

/// Why a dialled text was refused (`sip::target::TargetError`), for the
/// control socket and the softphone core's notice.
pub fn target_error(lang: Lang, e: &crate::sip::target::TargetError) -> String {
    let d = super::state::DialError::from(*e);
    dial_error(lang, &d)
}

pub fn digits(lang: Lang, n: usize) -> String {
    match lang {
        Lang::En => format!("{n} digits"),
        Lang::Vi => format!("{n} chữ số"),
    }
}

/// A call rings while the keyboard is in a text field or a view: what
/// answers it (`keys`: its command keys, e.g. `F2`), and that the typing
/// is safe.
pub fn ring_behind_focus(lang: Lang, keys: Option<&str>) -> String {
    match (lang, keys) {
        (Lang::En, Some(k)) => {
            format!("A call is ringing: {k} answers; what you type stays here")
        }
        (Lang::Vi, Some(k)) => {
            format!("Có cuộc gọi đến: nhấn {k} để trả lời; nội dung đang nhập được giữ nguyên")
        }
        (Lang::En, None) => {
            "A call is ringing: finish typing (Enter) or leave the field (Esc) to answer".into()
        }
        (Lang::Vi, None) => {
            "Có cuộc gọi đến: nhập xong (Enter) hoặc thoát ô nhập (Esc) để trả lời".into()
        }
    }
}

/// A history row's outcome with its reason, short enough for a column:
/// a call-out that failed says why (busy, unreachable, agent busy, no
/// permission: the call-out error table), a transfer says to whom.
pub fn outcome_with_reason(
    lang: Lang,
    o: crate::store::Outcome,
    reason: Option<&EndReason>,
) -> String {
    use crate::call::errors::CalloutError as E;
    use crate::store::Outcome;
    let vi = lang == Lang::Vi;
    let pick = |en: &str, v: &str| if vi { v.to_string() } else { en.to_string() };
    match (o, reason) {
        (Outcome::Transferred, Some(EndReason::Transferred { target })) => {
            format!("{} → {target}", outcome(lang, o))
        }
        (Outcome::NotAnswered, Some(r)) => match r {
            EndReason::Busy => pick("busy", "máy bận"),
            EndReason::NoAnswer => pick("no answer", "không nghe máy"),
            EndReason::Cancelled | EndReason::LocalHangup => pick("cancelled", "đã huỷ"),
            EndReason::Timeout => pick("timed out", "hết thời gian chờ"),
            EndReason::TransportLost => pick("connection lost", "mất kết nối"),
            EndReason::Rejected { .. } => pick("refused", "bị từ chối"),
            EndReason::Failed {
                error_code,
                sip_code,
            } => match E::classify(error_code.as_deref(), *sip_code) {
                E::Unreachable => pick("unreachable", "không liên lạc"),
                E::CustomerBusy => pick("busy", "máy bận"),
                E::NoAnswerOrError | E::CustomerDidNotAnswer => pick("no answer", "không nghe máy"),
                E::LineNotPaid => pick("line not paid", "chưa trả cước"),
                E::TemporarilyUnavailable => pick("unavailable", "tạm không liên lạc"),
                E::CustomerOther => pick("failed", "lỗi"),
                E::AgentPhoneUnreachable => pick("your phone offline", "lỗi máy của bạn"),
                E::AgentBusy => pick("agent busy", "bạn đang bận"),
                E::PermissionDenied => pick("no permission", "không có quyền"),
                E::ConnectError => pick("connect error", "lỗi kết nối"),
            },
            _ => outcome(lang, o).to_string(),
        },
        _ => outcome(lang, o).to_string(),
    }
}

/// A missed ring set the agent to No Answer: no calls come until `keys`
/// (the On/Off key) is pressed.
pub fn no_answer_set(lang: Lang, keys: &str) -> String {
    match lang {
        Lang::En => {
            format!("Missed call: you are now No Answer and get no calls; press {keys} to go On")
        }
        Lang::Vi => {
            format!("Lỡ cuộc gọi: bạn đang Không nghe máy, không nhận cuộc gọi; nhấn {keys} để Bật")
        }
    }
}

/// Beside "● No Answer" in the agent panel: the key back to On.
pub fn no_answer_key(lang: Lang, keys: &str) -> String {
    format!("{keys}: {}", availability(lang, Availability::On))
}
