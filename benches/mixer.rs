//! What the three-way call's mixing costs, in CPU time per minute of call:
//!
//! - `mixer`: the sans-IO [`Mixer`] alone (mix-minus, resampling to and
//!   from the mix rate, saturation), 3000 ticks = one minute of 20 ms frames;
//! - `bridge`: the whole path the sessions add in a conference: two
//!   [`LegDevice`]s read and written once per tick (locks, queues, the
//!   driving leg's mix and its device), on null devices.
//!
//! Each for three rate sets: all G.711 (8 kHz), G.711 + G.722 (8 and
//! 16 kHz: the mix runs at 16 kHz), all wideband (16 kHz). Median of 15
//! runs, each one minute of audio. Codecs and sockets are not included:
//! the sessions pay those with or without a conference.
//!
//! Run: `cargo bench --bench mixer`

use std::time::{Duration, Instant};

use tongdai::media::bridge::{Conference, LegDevice};
use tongdai::media::mixer::{Mixer, PortId};
use tongdai::media::tone::ToneGen;
use tongdai::media::{AudioDevice, NullDevice};

const TICKS: usize = 3000;
const RUNS: usize = 15;

fn frame(rate: u32) -> usize {
    (rate / 50) as usize
}

fn tone(rate: u32, f: &'static [f64]) -> Vec<i16> {
    let mut g = ToneGen::sine(f, 0.25, rate);
    let mut x = vec![0i16; frame(rate) * 50];
    g.fill(&mut x);
    x
}

fn mixer_minute(agent: u32, r1: u32, r2: u32) -> Duration {
    let (a, b) = (PortId(1), PortId(2));
    let mut m = Mixer::new(agent, &[(a, r1), (b, r2)]);
    let (ta, t1, t2) = (
        tone(agent, &[1000.0]),
        tone(r1, &[440.0]),
        tone(r2, &[880.0]),
    );
    let mut sink = 0i64;
    let start = Instant::now();
    for i in 0..TICKS {
        let k = i % 50;
        m.far_frame(a, &t1[k * frame(r1)..(k + 1) * frame(r1)]);
        m.far_frame(b, &t2[k * frame(r2)..(k + 1) * frame(r2)]);
        let out = m.mix(&ta[k * frame(agent)..(k + 1) * frame(agent)]);
        sink += i64::from(out[0]) + i64::from(m.far_output(a)[0]) + i64::from(m.far_output(b)[0]);
    }
    let t = start.elapsed();
    std::hint::black_box(sink);
    t
}

fn bridge_minute(r1: u32, r2: u32) -> Duration {
    let (mut d1, s1) = LegDevice::wrap(Box::new(NullDevice::new(r1)));
    let (mut d2, s2) = LegDevice::wrap(Box::new(NullDevice::new(r2)));
    let conf = Conference::start(vec![(PortId(1), s1), (PortId(2), s2)]).expect("two legs");
    let (t1, t2) = (tone(r1, &[440.0]), tone(r2, &[880.0]));
    let (mut m1, mut m2) = (vec![0i16; frame(r1)], vec![0i16; frame(r2)]);
    let start = Instant::now();
    for i in 0..TICKS {
        let k = i % 50;
        d1.read(&mut m1).expect("read");
        d1.write(&t1[k * frame(r1)..(k + 1) * frame(r1)])
            .expect("write");
        d2.read(&mut m2).expect("read");
        d2.write(&t2[k * frame(r2)..(k + 1) * frame(r2)])
            .expect("write");
    }
    let t = start.elapsed();
    std::hint::black_box((&m1, &m2));
    conf.end();
    t
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!("three-way call mixing, CPU per minute of call (median of {RUNS} runs)");
    for (name, agent, r1, r2) in [
        ("G.711 + G.711 (8 kHz)", 8000, 8000, 8000),
        ("G.711 + G.722 (8/16 kHz)", 8000, 8000, 16000),
        ("wideband (16 kHz)", 16000, 16000, 16000),
    ] {
        let m = median((0..RUNS).map(|_| mixer_minute(agent, r1, r2)).collect());
        let b = median((0..RUNS).map(|_| bridge_minute(r1, r2)).collect());
        println!(
            "{name:26} mixer {:6.2} ms/min ({:.4} % of one core)   bridge {:6.2} ms/min ({:.4} %)",
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / 60.0 * 100.0,
            b.as_secs_f64() * 1000.0,
            b.as_secs_f64() / 60.0 * 100.0,
        );
    }
}
