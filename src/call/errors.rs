//! The call-out error table of the VCC SDK (`VCC-PROTOCOL.md` §5), in the
//! mission's own Vietnamese words and in English. Plain SIP failures map onto
//! the same rows, so an agent reads the same sentence whichever backend runs.

// The agent's language is a setting; it lives in `config/lang.rs`.
pub use crate::config::lang::Lang;

/// One row of the table, resolved from an `errorCode` and a `sipCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalloutError {
    Unreachable,
    CustomerBusy,
    NoAnswerOrError,
    LineNotPaid,
    CustomerDidNotAnswer,
    TemporarilyUnavailable,
    CustomerOther,
    AgentPhoneUnreachable,
    AgentBusy,
    PermissionDenied,
    ConnectError,
}

impl CalloutError {
    /// Pick the row. A missing `errorCode` (plain SIP) is read as
    /// `IPCC_NOT_CONNECT_CUSTOMER`: the far end refused.
    pub fn classify(error_code: Option<&str>, sip_code: Option<u16>) -> CalloutError {
        match error_code.unwrap_or("IPCC_NOT_CONNECT_CUSTOMER") {
            "IPCC_NOT_CONNECT_AGENT_ID" => CalloutError::AgentPhoneUnreachable,
            "CALLOUT_AGENT_BUSY" => CalloutError::AgentBusy,
            "CALLOUT_PERMISSION_DENY" => CalloutError::PermissionDenied,
            "ERROR_CALLOUT_CONNECT" => CalloutError::ConnectError,
            _ => match sip_code {
                Some(404) => CalloutError::Unreachable,
                Some(486) | Some(600) => CalloutError::CustomerBusy,
                Some(408) => CalloutError::NoAnswerOrError,
                Some(403) => CalloutError::LineNotPaid,
                Some(487) => CalloutError::CustomerDidNotAnswer,
                Some(480) => CalloutError::TemporarilyUnavailable,
                Some(786) => CalloutError::AgentBusy,
                _ => CalloutError::CustomerOther,
            },
        }
    }

    pub fn text(self, lang: Lang) -> &'static str {
        use CalloutError::*;
        match (self, lang) {
            (Unreachable, Lang::Vi) => "Không kết nối được đến số thuê bao",
            (Unreachable, Lang::En) => "The number cannot be reached",
            (CustomerBusy, Lang::Vi) => "Khách hàng đang bận",
            (CustomerBusy, Lang::En) => "The customer is busy",
            (NoAnswerOrError, Lang::Vi) => "Khách hàng không nghe máy hoặc có lỗi xảy ra",
            (NoAnswerOrError, Lang::En) => "The customer did not answer, or an error occurred",
            (LineNotPaid, Lang::Vi) => "Đầu số này chưa được thanh toán cước",
            (LineNotPaid, Lang::En) => "This line has not been paid for",
            (CustomerDidNotAnswer, Lang::Vi) => "Khách hàng không nghe máy",
            (CustomerDidNotAnswer, Lang::En) => "The customer did not answer",
            (TemporarilyUnavailable, Lang::Vi) => {
                "Thuê bao khách hàng tạm thời không liên lạc được"
            }
            (TemporarilyUnavailable, Lang::En) => "The customer is temporarily unavailable",
            (CustomerOther, Lang::Vi) => "Có lỗi xảy ra",
            (CustomerOther, Lang::En) => "An error occurred",
            (AgentPhoneUnreachable, Lang::Vi) => {
                "Không kết nối được đến điện thoại của bạn: kiểm tra IP phone / softphone và mạng"
            }
            (AgentPhoneUnreachable, Lang::En) => {
                "Cannot reach your phone: check the IP phone / softphone and the network"
            }
            (AgentBusy, Lang::Vi) => "Bạn đang bận: hãy đăng xuất rồi đăng nhập lại",
            (AgentBusy, Lang::En) => "You are busy: log out and in again",
            (PermissionDenied, Lang::Vi) => "Bạn không có quyền gọi ra: liên hệ quản trị viên",
            (PermissionDenied, Lang::En) => "No permission to call out: ask the admin",
            (ConnectError, Lang::Vi) => "Có lỗi xảy ra khi gọi ra",
            (ConnectError, Lang::En) => "An error occurred while calling out",
        }
    }
}

impl CalloutError {
    /// The row's sentence for an internal call (agent to agent or an
    /// extension, dialled in SIP from device 1): the far end is a colleague,
    /// not a customer. Rows about our own side read as in [`Self::text`].
    pub fn internal_text(self, lang: Lang) -> &'static str {
        use CalloutError::*;
        match (self, lang) {
            (Unreachable, Lang::Vi) => "không tìm thấy máy nhánh này",
            (Unreachable, Lang::En) => "no such extension",
            (CustomerBusy, Lang::Vi) => "máy nhánh đang bận",
            (CustomerBusy, Lang::En) => "the extension is busy",
            (NoAnswerOrError, Lang::Vi) => "máy nhánh không nghe máy hoặc có lỗi xảy ra",
            (NoAnswerOrError, Lang::En) => "the extension did not answer, or an error occurred",
            (LineNotPaid, Lang::Vi) => "không được phép gọi máy nhánh này",
            (LineNotPaid, Lang::En) => "not allowed to call this extension",
            (CustomerDidNotAnswer, Lang::Vi) => "máy nhánh không nghe máy",
            (CustomerDidNotAnswer, Lang::En) => "the extension did not answer",
            (TemporarilyUnavailable, Lang::Vi) => {
                "máy nhánh tạm thời không liên lạc được (chưa đăng nhập?)"
            }
            (TemporarilyUnavailable, Lang::En) => {
                "the extension is unavailable for now (not logged in?)"
            }
            (CustomerOther, Lang::Vi) => "có lỗi xảy ra",
            (CustomerOther, Lang::En) => "an error occurred",
            (row, lang) => row.text(lang),
        }
    }
}

/// An internal call that failed: "Internal call to 1001: the extension is
/// busy (SIP 486)", the codes kept for support as in [`callout_notice`].
pub fn internal_call_notice(number: &str, sip_code: Option<u16>, lang: Lang) -> String {
    let text = CalloutError::classify(None, sip_code).internal_text(lang);
    let head = match lang {
        Lang::En => format!("Internal call to {number}: {text}"),
        Lang::Vi => format!("Gọi nội bộ {number}: {text}"),
    };
    match sip_code {
        Some(s) => format!("{head} (SIP {s})"),
        None => head,
    }
}

/// The full notice line: the sentence plus the codes, kept for support.
pub fn callout_notice(error_code: Option<&str>, sip_code: Option<u16>, lang: Lang) -> String {
    let text = CalloutError::classify(error_code, sip_code).text(lang);
    match (error_code, sip_code) {
        (Some(e), Some(s)) => format!("{text} ({e}, SIP {s})"),
        (Some(e), None) => format!("{text} ({e})"),
        (None, Some(s)) => format!("{text} (SIP {s})"),
        (None, None) => text.to_string(),
    }
}

/// `IPCCERR00nn` codes (VCC-PROTOCOL.md §2) as readable text.
pub fn ipcc_error_text(code: &str, lang: Lang) -> String {
    let (en, vi) = match code {
        "IPCCERR0000" => ("call not found", "không tìm thấy cuộc gọi"),
        "IPCCERR0001" => (
            "agent busy or not available",
            "điện thoại viên đang bận hoặc không sẵn sàng",
        ),
        "IPCCERR0002" => ("agent not found", "không tìm thấy điện thoại viên"),
        "IPCCERR0003" => (
            "the call is muted or on hold",
            "cuộc gọi đang tắt tiếng hoặc giữ máy",
        ),
        "IPCCERR0004" => ("the call is not muted", "cuộc gọi chưa tắt tiếng"),
        "IPCCERR0005" => ("the call is not on hold", "cuộc gọi chưa giữ máy"),
        "IPCCERR0006" => ("customer not found", "không tìm thấy khách hàng"),
        "IPCCERR0007" => ("wrong parameter count", "sai số lượng tham số"),
        "IPCCERR0008" => (
            "cannot hold a ringing call",
            "không thể giữ máy khi đang đổ chuông",
        ),
        "IPCCERR0009" => (
            "cannot mute a ringing call",
            "không thể tắt tiếng khi đang đổ chuông",
        ),
        "IPCCERR0011" => ("the call is muted", "cuộc gọi đang tắt tiếng"),
        "IPCCERR0013" => ("transfer failed", "chuyển cuộc gọi thất bại"),
        "IPCCERR0014" => ("not in a call", "không có cuộc gọi"),
        "IPCCERR0015" => (
            "could not get call info",
            "không lấy được thông tin cuộc gọi",
        ),
        _ => ("platform error", "lỗi hệ thống"),
    };
    let text = if lang == Lang::Vi { vi } else { en };
    format!("{text} ({code})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table() {
        let c = |e: Option<&str>, s| CalloutError::classify(e, s);
        let nc = Some("IPCC_NOT_CONNECT_CUSTOMER");
        assert_eq!(c(nc, Some(404)), CalloutError::Unreachable);
        assert_eq!(c(nc, Some(486)), CalloutError::CustomerBusy);
        assert_eq!(c(nc, Some(408)), CalloutError::NoAnswerOrError);
        assert_eq!(c(nc, Some(403)), CalloutError::LineNotPaid);
        assert_eq!(c(nc, Some(487)), CalloutError::CustomerDidNotAnswer);
        assert_eq!(c(nc, Some(480)), CalloutError::TemporarilyUnavailable);
        assert_eq!(c(nc, Some(500)), CalloutError::CustomerOther);
        assert_eq!(
            c(Some("IPCC_NOT_CONNECT_AGENT_ID"), None),
            CalloutError::AgentPhoneUnreachable
        );
        assert_eq!(
            c(Some("CALLOUT_AGENT_BUSY"), Some(786)),
            CalloutError::AgentBusy
        );
        assert_eq!(
            c(Some("CALLOUT_PERMISSION_DENY"), None),
            CalloutError::PermissionDenied
        );
        assert_eq!(
            c(Some("ERROR_CALLOUT_CONNECT"), None),
            CalloutError::ConnectError
        );
        // Plain SIP: no errorCode, the SIP code decides.
        assert_eq!(c(None, Some(486)), CalloutError::CustomerBusy);
    }

    #[test]
    fn notice_keeps_the_codes_in_both_languages() {
        assert_eq!(
            callout_notice(None, Some(486), Lang::Vi),
            "Khách hàng đang bận (SIP 486)"
        );
        assert_eq!(
            callout_notice(Some("IPCC_NOT_CONNECT_CUSTOMER"), Some(603), Lang::En),
            "An error occurred (IPCC_NOT_CONNECT_CUSTOMER, SIP 603)"
        );
    }

    #[test]
    fn an_internal_call_names_the_extension_not_a_customer() {
        for sip in [404, 486, 408, 403, 487, 480, 500] {
            for lang in [Lang::En, Lang::Vi] {
                let line = internal_call_notice("1001", Some(sip), lang);
                assert!(line.contains("1001"), "{line}");
                assert!(line.ends_with(&format!("(SIP {sip})")), "{line}");
                let low = line.to_lowercase();
                assert!(
                    !low.contains("customer") && !low.contains("khách hàng"),
                    "{line}"
                );
            }
        }
        assert_eq!(
            internal_call_notice("1001", Some(486), Lang::En),
            "Internal call to 1001: the extension is busy (SIP 486)"
        );
        assert_eq!(
            internal_call_notice("1001", Some(404), Lang::Vi),
            "Gọi nội bộ 1001: không tìm thấy máy nhánh này (SIP 404)"
        );
        assert_eq!(
            internal_call_notice("1001", None, Lang::En),
            "Internal call to 1001: an error occurred"
        );
    }
}
