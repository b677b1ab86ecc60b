//! Every word the console shows, in English and Vietnamese, in one place.
//! The call-out error table and `IPCCERR` texts live in `call::errors`
//! (shared with the engine); everything else is here.

pub use crate::call::errors::Lang;
use crate::call::errors::{callout_notice, ipcc_error_text};
use crate::engine::{Availability, Device, Direction, EndReason, Notice, RegState};

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
            "↑↓ choose · Enter/c call back · n note · / filter · Esc closes",
            "↑↓ để chọn · Enter/c gọi lại · n ghi chú · / lọc · Esc để đóng",
        ),
        T::HistoryFilter => ("number", "số"),
        T::HistoryOff => (
            "Call history is off in this session",
            "Lịch sử cuộc gọi đang tắt trong phiên này",
        ),
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
            format!("the answer is not the JSON expected ({detail})")
        }
        (CrmError::MalformedJson { detail }, Lang::Vi) => {
            format!("dữ liệu trả về không đúng dạng JSON ({detail})")
        }
        (CrmError::Unreachable { detail }, _) => detail.clone(),
        (CrmError::Config(d), _) => d.clone(),
        (CrmError::Token(d), _) => d.clone(),
    };
    match lang {
        Lang::En => format!("CRM unavailable: {reason}"),
        Lang::Vi => format!("CRM không dùng được: {reason}"),
    }
}

/// "Note not saved: <why>".
pub fn note_not_saved(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("Note not saved: {why}"),
        Lang::Vi => format!("Chưa lưu được ghi chú: {why}"),
    }
}

/// "History not loaded: <why>".
pub fn history_failed(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("History not loaded: {why}"),
        Lang::Vi => format!("Không tải được lịch sử: {why}"),
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

pub fn init_failed(lang: Lang, reason: &str) -> String {
    match lang {
        Lang::En => format!("failed: {reason}"),
        Lang::Vi => format!("lỗi: {reason}"),
    }
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
        Notice::NotNow(what) => {
            if vi {
                format!("Chưa thể: {what}")
            } else {
                format!("Not now: {what}")
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
        Notice::Server(s) | Notice::Info(s) => s.clone(),
    }
}

pub fn transfer_result(lang: Lang, ok: bool, detail: &str) -> String {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    match (ok, lang) {
        (true, Lang::En) => format!("Transfer done{detail}"),
        (true, Lang::Vi) => format!("Đã chuyển cuộc gọi{detail}"),
        (false, Lang::En) => format!("Transfer failed{detail}"),
        (false, Lang::Vi) => format!("Chuyển cuộc gọi thất bại{detail}"),
    }
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
        BadUri => if vi {
            "địa chỉ sip: không hợp lệ"
        } else {
            "not a valid sip: address"
        }
        .into(),
    }
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
