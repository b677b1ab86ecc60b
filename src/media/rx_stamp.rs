//! Kernel receive timestamps on the RTP socket (`SO_TIMESTAMPNS`, Linux
//! socket(7)), so the session can read its datagrams once per 20 ms tick
//! instead of waking for each one, and still give the jitter buffer each
//! packet's true arrival time.
//!
//! A wake per packet was half of the session's wake-ups (one for the tick,
//! one for the peer's packet, at different phases): each costs an
//! epoll_wait return, a task poll and a futex between tokio's workers.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Ask the kernel to stamp each datagram `fd` receives. False when it
/// cannot (the caller then wakes per packet as before).
pub fn enable(fd: &impl AsRawFd) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: a plain setsockopt on an open socket with an int option.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

/// One datagram, without blocking: its length, sender and the kernel's
/// arrival stamp (wall clock) when there is one. `WouldBlock` when none
/// is queued.
pub fn recv(
    fd: &impl AsRawFd,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
    // SAFETY: zeroed sockaddr_storage/msghdr are valid initial values; the
    // pointers set below outlive the recvmsg call; the control buffer is
    // u64-aligned as cmsghdr needs, and CMSG_* walk only within it.
    unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 16];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = std::ptr::from_mut(&mut addr).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut stamp = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                stamp = Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        let from = match i32::from(addr.ss_family) {
            libc::AF_INET => {
                let a = &*std::ptr::from_ref(&addr).cast::<libc::sockaddr_in>();
                SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u16::from_be(a.sin_port),
                ))
            }
            libc::AF_INET6 => {
                let a = &*std::ptr::from_ref(&addr).cast::<libc::sockaddr_in6>();
                SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                ))
            }
            f => {
                return Err(io::Error::other(format!("address family {f}")));
            }
        };
        Ok((n as usize, from, stamp))
    }
}

/// The monotonic instant of a wall-clock `stamp`, given the two clocks
/// read together (`now`, `wall_now`); kept within `oldest ..= now`, so a
/// wall-clock step cannot put an arrival in the future or far back.
pub fn to_instant(
    stamp: SystemTime,
    now: Instant,
    wall_now: SystemTime,
    oldest: Instant,
) -> Instant {
    let at = match wall_now.duration_since(stamp) {
        Ok(ago) => now.checked_sub(ago).unwrap_or(oldest),
        Err(_) => now,
    };
    at.clamp(oldest.min(now), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn a_datagram_read_later_carries_its_arrival_time() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable(&rx));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            recv(&rx, &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let sent = SystemTime::now();
        tx.send_to(b"rtp", rx.local_addr().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let read_at = SystemTime::now();
        let (n, from, stamp) = recv(&rx, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"rtp");
        assert_eq!(from, tx.local_addr().unwrap());
        let stamp = stamp.expect("a kernel timestamp");
        // Stamped when it arrived, not when we read it 30 ms later.
        let age = read_at.duration_since(stamp).unwrap();
        assert!(age >= Duration::from_millis(25), "{age:?}");
        assert!(stamp.duration_since(sent).unwrap() < Duration::from_millis(5));
    }

    #[test]
    fn ipv6_senders_are_named() {
        let Ok(rx) = UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback here
        };
        let tx = UdpSocket::bind("[::1]:0").unwrap();
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let (_, from, stamp) = recv(&rx, &mut [0u8; 8]).unwrap();
        assert_eq!(from, tx.local_addr().unwrap());
        assert!(stamp.is_none(), "not enabled on this socket");
    }

    #[test]
    fn stamps_map_to_instants_within_bounds() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let oldest = now - Duration::from_millis(100);
        let ten_ago = to_instant(wall - Duration::from_millis(10), now, wall, oldest);
        assert_eq!(now - ten_ago, Duration::from_millis(10));
        // The wall clock stepped: never in the future, never before `oldest`.
        assert_eq!(
            to_instant(wall + Duration::from_secs(5), now, wall, oldest),
            now
        );
        assert_eq!(
            to_instant(wall - Duration::from_secs(5), now, wall, oldest),
            oldest
        );
    }
}
