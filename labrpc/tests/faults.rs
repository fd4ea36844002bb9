//! The fault model, measured: thousands of calls on the sim executor, where every delay is
//! exact virtual time and a fixed seed gives the same statistics on every run. The bands are
//! several standard deviations wide, so a correct model passes with any seed, while a wrong
//! rate, a wrong bound or a unit slip (seconds for milliseconds) fails.
//!
//! Run with `--nocapture` to see the observed statistics.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use labrpc::faults::*;
use labrpc::runtime;
use labrpc::{codec, ClientEnd, Network, RpcError, Server, Service};
use parking_lot::Mutex;

/// One finished call.
#[derive(Debug)]
struct Sample {
    id: u64,
    /// Virtual milliseconds from the call to its result.
    ms: u64,
    result: Result<u64, RpcError>,
}

/// A network with an echo server `"s"` whose handler records the ids it saw.
fn echo_network() -> (Network, Arc<Mutex<BTreeSet<u64>>>) {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let handler_seen = seen.clone();
    let mut svc = Service::new("Echo").expect("a good name");
    svc.handle("Id", move |id: u64| {
        handler_seen.lock().insert(id);
        id
    })
    .expect("a new method");
    let server = Server::new();
    server.add_service(svc).expect("a new service");
    let net = Network::new();
    net.add_server("s", server);
    (net, seen)
}

/// Makes `n` concurrent calls `Echo.Id(first..first+n)` on `end`, all started at the same
/// instant, and returns them sorted by id.
async fn call_many(end: &ClientEnd, first: u64, n: u64) -> Vec<Sample> {
    let tasks: Vec<_> = (first..first + n)
        .map(|id| {
            let call = end.call::<_, u64>("Echo.Id", &id);
            runtime::spawn(async move {
                let start = runtime::now();
                let result = call.await;
                Sample {
                    id,
                    ms: ms_since(start),
                    result,
                }
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(tasks.len());
    for t in tasks {
        samples.push(t.await.expect("the calling task finishes"));
    }
    samples
}

fn mean(xs: &[u64]) -> f64 {
    xs.iter().sum::<u64>() as f64 / xs.len().max(1) as f64
}

/// The smallest, largest and mean of some observed delays (ms).
fn spread(delays: &[u64]) -> (u64, u64, f64) {
    let min = *delays.iter().min().expect("some delays were observed");
    let max = *delays.iter().max().expect("some delays were observed");
    (min, max, mean(delays))
}

fn encoded_len(id: u64) -> u64 {
    codec::encode(&id).expect("a u64 encodes").len() as u64
}

#[test]
fn unreliable_network_drops_ten_percent_of_requests_and_ten_percent_of_replies() {
    const N: u64 = 5000;
    let outcome = on_sim("drops", 101, || async {
        let (net, seen) = echo_network();
        net.set_reliable(false);
        let end = connected_end(&net, "e", "s");
        let samples = call_many(&end, 0, N).await;
        let seen = seen.lock().clone();
        (
            samples,
            seen,
            net.count("s"),
            net.total_count(),
            net.total_bytes(),
        )
    });
    let (samples, seen, delivered_count, total_count, total_bytes) = outcome.value;

    let mut ok = 0u64;
    let mut request_dropped = 0u64;
    let mut reply_dropped = 0u64;
    let mut expected_bytes = 0u64;
    for s in &samples {
        expected_bytes += encoded_len(s.id);
        match &s.result {
            Ok(v) => {
                assert_eq!(*v, s.id, "the reply is the handler's");
                assert!(seen.contains(&s.id), "call {} succeeded unseen", s.id);
                expected_bytes += encoded_len(*v);
                ok += 1;
            }
            Err(RpcError::RequestDropped { name }) => {
                assert_eq!(name, "Echo.Id");
                assert!(
                    !seen.contains(&s.id),
                    "call {}: the request was dropped, yet the handler ran",
                    s.id
                );
                request_dropped += 1;
            }
            Err(RpcError::ReplyDropped { name }) => {
                assert_eq!(name, "Echo.Id");
                assert!(
                    seen.contains(&s.id),
                    "call {}: the reply was dropped, but the handler never ran",
                    s.id
                );
                reply_dropped += 1;
            }
            Err(other) => panic!("call {}: unexpected error {other}", s.id),
        }
    }
    let request_rate = request_dropped as f64 / N as f64;
    let reply_rate = reply_dropped as f64 / (N - request_dropped) as f64;
    let ok_rate = ok as f64 / N as f64;
    println!(
        "drops over {N} calls: request {request_dropped} ({:.2}%), reply {reply_dropped} \
         ({:.2}% of delivered), success {ok} ({:.2}%)",
        100.0 * request_rate,
        100.0 * reply_rate,
        100.0 * ok_rate
    );
    // Expect 10%, 10% and 81%; the standard deviation is about 0.4 percentage points.
    assert!(
        (0.08..=0.12).contains(&request_rate),
        "request drop rate {request_rate}"
    );
    assert!(
        (0.08..=0.12).contains(&reply_rate),
        "reply drop rate {reply_rate}"
    );
    assert!((0.77..=0.85).contains(&ok_rate), "success rate {ok_rate}");

    // Counting: every call is sent; the server counts requests that were not dropped; bytes
    // are every request plus the replies actually delivered.
    assert_eq!(total_count, N);
    assert_eq!(delivered_count, N - request_dropped);
    assert_eq!(seen.len() as u64, N - request_dropped);
    assert_eq!(total_bytes, expected_bytes);
}

#[test]
fn unreliable_network_delays_each_request_by_0_to_26_ms() {
    const N: u64 = 5000;
    let outcome = on_sim("short_delays", 102, || async {
        let (net, _seen) = echo_network();
        net.set_reliable(false);
        let end = connected_end(&net, "e", "s");
        call_many(&end, 0, N).await
    });
    // The handler takes no time and there is no reordering, so a call's whole duration is its
    // short delay, whatever its result.
    let delays: Vec<u64> = outcome.value.iter().map(|s| s.ms).collect();
    let (min, max, avg) = spread(&delays);
    println!("short delays over {N} calls: min {min} ms, max {max} ms, mean {avg:.2} ms");
    assert!(
        max < SHORT_DELAY_MS,
        "a short delay of {max} ms (bound {SHORT_DELAY_MS})"
    );
    assert_eq!(max, SHORT_DELAY_MS - 1, "the whole range 0-26 ms is used");
    assert_eq!(min, 0);
    assert!((12.0..=14.0).contains(&avg), "mean short delay {avg} ms");
    // Every value 0..=26 appears (uniform draws).
    let distinct: BTreeSet<u64> = delays.iter().copied().collect();
    assert_eq!(distinct.len() as u64, SHORT_DELAY_MS);

    // A reliable network adds no delay at all.
    let outcome = on_sim("no_delays", 103, || async {
        let (net, _seen) = echo_network();
        let end = connected_end(&net, "e", "s");
        call_many(&end, 0, 500).await
    });
    assert!(outcome.value.iter().all(|s| s.ms == 0 && s.result.is_ok()));
}

#[test]
fn long_reordering_holds_back_two_thirds_of_replies_for_200_to_2199_ms() {
    const N: u64 = 4000;
    let outcome = on_sim("reordering", 104, || async {
        let (net, _seen) = echo_network();
        net.set_long_reordering(true);
        let end = connected_end(&net, "e", "s");
        // Halfway through the shortest hold-back, only the replies that were not held back
        // have been delivered and counted.
        let probe = {
            let net = net.clone();
            runtime::spawn(async move {
                runtime::sleep(Duration::from_millis(REORDER_BASE_MS / 2)).await;
                net.total_bytes()
            })
        };
        let samples = call_many(&end, 0, N).await;
        let bytes_at_100ms = probe.await.expect("the probe finishes");
        (samples, bytes_at_100ms, net.total_bytes())
    });
    let (samples, bytes_at_100ms, total_bytes) = outcome.value;

    let mut held = Vec::new();
    let mut request_bytes = 0;
    let mut prompt_reply_bytes = 0;
    let mut all_reply_bytes = 0;
    for s in &samples {
        let v = s
            .result
            .as_ref()
            .expect("long reordering on a reliable network delivers every call");
        assert_eq!(*v, s.id);
        request_bytes += encoded_len(s.id);
        all_reply_bytes += encoded_len(*v);
        if s.ms == 0 {
            prompt_reply_bytes += encoded_len(*v);
        } else {
            held.push(s.ms);
        }
    }
    let rate = held.len() as f64 / N as f64;
    let min = *held.iter().min().expect("some replies are held back");
    let max = *held.iter().max().expect("some replies are held back");
    let avg = mean(&held);
    let mut sorted = held.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    println!(
        "long reordering over {N} calls: {} held back ({:.2}%), min {min} ms, max {max} ms, \
         mean {avg:.1} ms, median {median} ms",
        held.len(),
        100.0 * rate
    );
    // 2/3 expected; the standard deviation is 0.75 percentage points.
    assert!((0.62..=0.71).contains(&rate), "hold-back rate {rate}");
    assert!(min >= REORDER_BASE_MS, "a reply held back only {min} ms");
    assert!(
        max < REORDER_BASE_MS + REORDER_SPREAD_MS,
        "a reply held back {max} ms"
    );
    assert!(max > 1900, "the longest hold-back was only {max} ms");
    // 200 + uniform(0, 1 + uniform(0, 2000)): mean about 700 ms, skewed to short delays.
    assert!((620.0..=780.0).contains(&avg), "mean hold-back {avg} ms");
    assert!((median as f64) < avg, "the delays are skewed short");

    // Held-back reply bytes are counted when the reply is delivered.
    assert_eq!(bytes_at_100ms, request_bytes + prompt_reply_bytes);
    assert_eq!(total_bytes, request_bytes + all_reply_bytes);
}

/// Makes `n` calls on each of three undeliverable ends (disabled, not connected, to a missing
/// server) and returns each kind's delays in virtual ms.
async fn dead_end_delays(net: &Network, n: u64) -> [Vec<u64>; 3] {
    let disabled = net.make_end("disabled").expect("a new end");
    net.connect("disabled", "s").expect("the end exists");
    let unconnected = net.make_end("unconnected").expect("a new end");
    let nowhere = connected_end(net, "nowhere", "no-such-server");
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for (kind, end) in [disabled, unconnected, nowhere].iter().enumerate() {
        for s in call_many(end, 0, n).await {
            let err = s.result.expect_err("an undeliverable call fails");
            let expected = match kind {
                0 => matches!(err, RpcError::EndDisabled { .. }),
                1 => matches!(err, RpcError::EndNotConnected { .. }),
                _ => matches!(err, RpcError::NoServer { .. }),
            };
            assert!(expected, "undeliverable call {kind}: {err}");
            out[kind].push(s.ms);
        }
    }
    out
}

#[test]
fn dead_ends_fail_after_0_to_6999_ms_with_long_delays() {
    const N: u64 = 1500;
    let outcome = on_sim("long_delays", 105, || async {
        let (net, seen) = echo_network();
        net.set_long_delays(true);
        let delays = dead_end_delays(&net, N).await;
        assert!(seen.lock().is_empty(), "an undeliverable call ran");
        delays
    });
    for (kind, delays) in ["disabled", "not connected", "no server"]
        .iter()
        .zip(outcome.value.iter())
    {
        let (min, max, avg) = spread(delays);
        println!(
            "long delays, {kind} end, {N} calls: min {min} ms, max {max} ms, mean {avg:.0} ms"
        );
        assert!(max < LONG_DELAY_MS, "{kind}: failed after {max} ms");
        assert!(max > 6000, "{kind}: the longest delay was only {max} ms");
        assert!(min < 100, "{kind}: the shortest delay was {min} ms");
        assert!(
            (3200.0..=3800.0).contains(&avg),
            "{kind}: mean delay {avg} ms"
        );
    }
}

#[test]
fn dead_ends_fail_after_0_to_99_ms_without_long_delays() {
    const N: u64 = 1500;
    let outcome = on_sim("short_dead_delays", 106, || async {
        let (net, _seen) = echo_network();
        dead_end_delays(&net, N).await
    });
    for (kind, delays) in ["disabled", "not connected", "no server"]
        .iter()
        .zip(outcome.value.iter())
    {
        let (min, max, avg) = spread(delays);
        println!(
            "short delays, {kind} end, {N} calls: min {min} ms, max {max} ms, mean {avg:.1} ms"
        );
        assert!(max < SHORT_DEAD_DELAY_MS, "{kind}: failed after {max} ms");
        assert!(max > 80, "{kind}: the longest delay was only {max} ms");
        assert_eq!(min, 0, "{kind}");
        assert!((45.0..=54.0).contains(&avg), "{kind}: mean delay {avg} ms");
    }
}

#[test]
fn a_handler_outliving_its_server_is_abandoned_at_the_next_dead_server_poll() {
    // The caller polls every 100 ms of its own wait; a server deleted at t=250 ms is noticed
    // at the 300 ms poll.
    let outcome = on_sim("dead_poll", 107, || async {
        let (net, end, _log) = junk_network("s", "e");
        let call = runtime::spawn(end.call::<_, i64>("JunkServer.Handler3", &1i64));
        runtime::sleep(Duration::from_millis(250)).await;
        net.delete_server("s");
        let result = call.await.expect("the calling task finishes");
        (result, runtime::now().since_start())
    });
    let (result, at) = outcome.value;
    assert!(
        matches!(result, Err(RpcError::ServerDied { .. })),
        "{result:?}"
    );
    assert_eq!(at, 3 * DEAD_SERVER_POLL);
}
